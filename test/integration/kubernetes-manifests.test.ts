// deploy/kubernetes/ and the Containerfile, checked two ways. Statically: every ConfigMap and
// Secret key the Deployment mounts exists (cert-manager's keys for the certificate Secret),
// every file the configuration names is mounted, probe and Service ports match the
// configuration, and the shutdown timings nest. Then for real: the files are laid out as the
// kubelet mounts them (`..data` symlinks, root-owned 0440 secrets with fsGroup), and the
// container's command line runs as its non-root user in a network and mount namespace of its
// own, with /etc/pgtunnel where the pod has it; the manifest's exec probes pass, psql gets a
// session from a pod-network address, and SIGTERM ends it cleanly.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { parseConf } from '../../src/config/conf-file.js';
import { filesInMemory } from '../../src/config/file-source.js';
import { SETTINGS } from '../../src/config/settings.js';
import { parseDuration } from '../../src/config/values.js';
import { clientBinary } from '../../src/demo/postgres-binaries.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { PROJECT_ROOT } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { run } from '../helpers/run.js';

const DEPLOY_DIR = join(PROJECT_ROOT, 'deploy', 'kubernetes');
/** The keys cert-manager writes into a Certificate's secretName. */
const CERT_MANAGER_KEYS = ['tls.crt', 'tls.key', 'ca.crt'];

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are checked field by field below
type K8sObject = Record<string, any>;

function loadManifests(): { file: string; object: K8sObject }[] {
  const found: { file: string; object: K8sObject }[] = [];
  for (const file of readdirSync(DEPLOY_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    // Kubernetes reads YAML 1.1 (sigs.k8s.io/yaml): `defaultMode: 0400` is octal there.
    const text = readFileSync(join(DEPLOY_DIR, file), 'utf8');
    for (const document of parseAllDocuments(text, { version: '1.1' })) {
      assert.deepEqual(document.errors, [], `${file} parses as YAML`);
      const object = document.toJS() as K8sObject | null;
      if (object) found.push({ file, object });
    }
  }
  return found;
}

/** Final-stage facts of the Containerfile. */
function containerImage() {
  const text = readFileSync(join(PROJECT_ROOT, 'Containerfile'), 'utf8');
  const finalStage = text.slice(text.lastIndexOf('\nFROM '));
  const instruction = (name: string) =>
    [...finalStage.matchAll(new RegExp(`^${name} (.+)$`, 'gm'))].map((m) => m[1] ?? '');
  return {
    from: instruction('FROM')[0] ?? '',
    user: instruction('USER')[0] ?? '',
    workdir: instruction('WORKDIR')[0] ?? '',
    run: instruction('RUN').join('\n'),
    copy: instruction('COPY'),
    entrypoint: JSON.parse(instruction('ENTRYPOINT')[0] ?? '[]') as string[],
  };
}

/** Every file the container sees under its volume mounts: path → content (or a source). */
interface MountedFile {
  volume: string;
  key: string;
  content: string | undefined;
  /** For Secrets: mode; owner is root, group the pod's fsGroup. */
  mode: number;
}

describe('deploy/kubernetes manifests and the Containerfile', () => {
  const manifests = loadManifests();
  const byKind = (kind: string) => manifests.filter((m) => m.object.kind === kind);
  const deployment = byKind('Deployment')[0]?.object as K8sObject;
  const container = deployment?.spec.template.spec.containers[0] as K8sObject;
  const podSpec = deployment?.spec.template.spec as K8sObject;
  const image = containerImage();

  /** Resolves each volume mount to the files in it, from the manifests. */
  function mountedFiles(): Map<string, MountedFile> {
    const files = new Map<string, MountedFile>();
    for (const mount of container.volumeMounts as K8sObject[]) {
      const volume = (podSpec.volumes as K8sObject[]).find((v) => v.name === mount.name);
      assert.ok(volume, `volume "${mount.name}" of a volumeMount is declared`);
      let data: Record<string, string | undefined>;
      let mode = 0o644;
      if (volume.configMap) {
        const configMap = byKind('ConfigMap').find(
          (m) => m.object.metadata.name === volume.configMap.name,
        );
        assert.ok(configMap, `ConfigMap "${volume.configMap.name}" is in the manifests`);
        data = configMap.object.data;
      } else if (volume.secret) {
        mode = volume.secret.defaultMode ?? 0o644;
        const secret = byKind('Secret').find(
          (m) => m.object.metadata.name === volume.secret.secretName,
        );
        const certificate = byKind('Certificate').find(
          (m) => m.object.spec.secretName === volume.secret.secretName,
        );
        assert.ok(
          secret || certificate,
          `Secret "${volume.secret.secretName}" is in the manifests or written by a cert-manager Certificate`,
        );
        data = secret
          ? { ...secret.object.data, ...secret.object.stringData }
          : Object.fromEntries(CERT_MANAGER_KEYS.map((key) => [key, undefined]));
      } else {
        assert.fail(`volume "${mount.name}" is neither a ConfigMap nor a Secret`);
      }
      const source = volume.configMap ?? volume.secret;
      const items: Array<{ key: string; path: string }> =
        source.items ?? Object.keys(data).map((key) => ({ key, path: key }));
      for (const item of items) {
        assert.ok(
          Object.hasOwn(data, item.key),
          `key "${item.key}" of volume "${mount.name}" exists in its ConfigMap/Secret`,
        );
        files.set(posix.join(mount.mountPath, item.path), {
          volume: mount.name,
          key: item.key,
          content: data[item.key],
          mode,
        });
      }
    }
    return files;
  }

  /** The configuration as the container reads it, includes followed through the mounts. */
  function containerSettings(files: Map<string, MountedFile>) {
    const configPath = container.args[container.args.indexOf('--config') + 1] as string;
    const config = files.get(configPath);
    assert.ok(config?.content, `the --config file ${configPath} is mounted`);
    const contents = new Map(
      [...files].flatMap(([path, file]) =>
        file.content === undefined ? [] : [[path, file.content] as const],
      ),
    );
    const entries = parseConf(config.content, configPath, filesInMemory(contents));
    const settings = new Map(entries.map((e) => [e.name, e.value]));
    for (const name of settings.keys()) {
      assert.ok(Object.hasOwn(SETTINGS, name), `"${name}" in the ConfigMap is a setting`);
    }
    return { configPath, settings };
  }

  it('lists every manifest in kustomization.yaml', () => {
    const kustomization = byKind('Kustomization')[0]?.object;
    const files = new Set(manifests.map((m) => m.file));
    files.delete('kustomization.yaml');
    assert.deepEqual(new Set(kustomization?.resources), files);
  });

  it('mounts every ConfigMap and Secret key it refers to, and every file the configuration names', () => {
    const files = mountedFiles();
    const { settings } = containerSettings(files);
    for (const name of ['ssl_cert_file', 'ssl_key_file', 'ssl_ca_file', 'hba_file', 'ident_file']) {
      const path = settings.get(name);
      if (path === undefined || path === '') continue;
      assert.ok(files.has(path), `${name} = ${path} is a mounted file`);
    }
    const upstreamConf = files.get('/etc/pgtunnel/upstream/upstream.conf');
    assert.match(upstreamConf?.content ?? '', /^upstream = '/m);
    for (const path of (settings.get('upstream') ?? '').match(/\/etc\/[^\s']+/g) ?? []) {
      assert.ok(files.has(path), `the upstream's ${path} is mounted`);
    }
  });

  it('probes, ports and the Service agree with the configuration', () => {
    const { settings } = containerSettings(mountedFiles());
    const port = Number(settings.get('port'));
    const [adminHost, adminPort] = (settings.get('admin_listen') ?? '').split(':');
    assert.equal(adminHost, '127.0.0.1', 'the admin endpoint stays on loopback (exec probes)');
    const containerPort = container.ports.find((p: K8sObject) => p.name === 'postgresql');
    assert.equal(containerPort.containerPort, port);
    const service = byKind('Service')[0]?.object as K8sObject;
    assert.equal(service.spec.ports[0].targetPort, 'postgresql');
    assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels);
    assert.deepEqual(
      byKind('PodDisruptionBudget')[0]?.object.spec.selector,
      deployment.spec.selector,
    );
    assert.ok(deployment.spec.replicas >= 2, 'several replicas');

    const readiness = container.readinessProbe.exec.command as string[];
    const liveness = container.livenessProbe.exec.command as string[];
    for (const command of [readiness, liveness]) {
      assert.deepEqual(command.slice(0, 2), image.entrypoint, 'probes run the image’s program');
      assert.equal(command[2], 'probe');
      assert.equal(command[3], `127.0.0.1:${port}`);
    }
    assert.equal(readiness[readiness.indexOf('--ready') + 1], `127.0.0.1:${adminPort}`);
  });

  it('drains within terminationGracePeriodSeconds: preStop delay + shutdown_timeout fit', () => {
    const { settings } = containerSettings(mountedFiles());
    const shutdownMs = parseDuration(settings.get('shutdown_timeout') ?? '30s', 's', 0, 86_400_000);
    const preStop = container.lifecycle.preStop.exec.command as string[];
    assert.equal(preStop[0], 'sleep');
    const preStopMs = Number(preStop[1]) * 1000;
    const graceMs = podSpec.terminationGracePeriodSeconds * 1000;
    assert.ok(
      preStopMs + shutdownMs < graceMs,
      `preStop ${preStopMs} ms + shutdown_timeout ${shutdownMs} ms < grace ${graceMs} ms`,
    );
    // The readiness probe notices a drain before the preStop delay ends.
    const readiness = container.readinessProbe;
    assert.ok(readiness.periodSeconds * readiness.failureThreshold <= Number(preStop[1]));
  });

  it('the image runs Node 20 slim, production dependencies only, as the non-root pod user', () => {
    assert.match(image.from, /^node:20(\.[\d.]+)?-[a-z]+-slim$/);
    assert.match(image.run, /npm ci --omit=dev/);
    const [uid, gid] = image.user.split(':').map(Number);
    assert.ok(uid !== undefined && uid > 0, 'a numeric non-root user');
    assert.equal(podSpec.securityContext.runAsUser, uid);
    assert.equal(podSpec.securityContext.runAsGroup, gid);
    assert.equal(podSpec.securityContext.runAsNonRoot, true);
    assert.equal(image.entrypoint[1], posix.join(image.workdir, 'dist/cli/main.js'));
    assert.equal(container.image.split(':')[0], 'pgtunnel');
  });

  describe('the container’s command line, run locally against files laid out like the mounts', () => {
    let pki: TestPki;
    let cluster: Cluster;
    let root: string;
    let gateway: ChildProcess | undefined;
    let output = '';
    const podAddress = '10.1.2.3';
    const uid = Number(image.user.split(':')[0]);
    const gid = Number(image.user.split(':')[1]);
    /** Maps the image's paths (WORKDIR /app) onto the local build. */
    const local = (argv: string[]) =>
      argv.map((arg) => (arg.startsWith(`${image.workdir}/`) ? join(root, arg) : arg));
    /** Runs a command in the gateway's namespaces as the pod user (or as root for clients). */
    const inPod = (argv: string[], asPodUser = true) => {
      const pid = String(gateway?.pid);
      const user = asPodUser
        ? ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups']
        : [];
      const [command = '', ...rest] = local(argv);
      const executable = command === 'node' ? process.execPath : command;
      return run('nsenter', ['-t', pid, '-n', '-m', ...user, executable, ...rest], {
        env: {
          PATH: process.env.PATH,
          LANG: 'C',
          PGSSLCERT: '/nonexistent',
          PGSSLKEY: '/nonexistent',
        },
      });
    };

    before(async () => {
      pki = await createTestPki();
      cluster = await startCluster();
      root = mkdtempSync(join(tmpdir(), 'pgtunnel-pod-'));
      chmodSync(root, 0o755);
      // The image's /app: the compiled program, package.json (ESM) and production modules.
      const app = join(root, image.workdir);
      mkdirSync(app, { recursive: true });
      // The image's build stage is `npm run build`: the test runner has just made that build
      // of this tree (PGTUNNEL_TEST_CLI is its dist/cli/main.js); run alone, the file compiles.
      const built = process.env.PGTUNNEL_TEST_CLI;
      if (built) {
        cpSync(dirname(dirname(built)), join(app, 'dist'), { recursive: true });
      } else {
        const build = await run(
          process.execPath,
          [
            join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc'),
            '-p',
            join(PROJECT_ROOT, 'tsconfig.build.json'),
            '--outDir',
            join(app, 'dist'),
          ],
          { timeoutMs: 600_000 },
        );
        assert.equal(build.code, 0, build.stdout + build.stderr);
      }
      copyFileSync(join(PROJECT_ROOT, 'package.json'), join(app, 'package.json'));
      symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(app, 'node_modules'));

      // The volumes, as the kubelet writes them: a timestamped directory, `..data` pointing at
      // it, and each file a symlink through `..data`.
      const files = mountedFiles();
      const secretContent = (file: MountedFile, path: string): string => {
        if (file.key === 'tls.crt') return readFileSync(pki.serverCert, 'utf8');
        if (file.key === 'tls.key') return readFileSync(pki.serverKey, 'utf8');
        if (file.key === 'ca.crt') return readFileSync(pki.caBundle, 'utf8');
        if (path.endsWith('/upstream.conf')) {
          // The cluster's PostgreSQL stands in for the Service named in the example Secret.
          return `upstream = 'host=${cluster.socketDir} port=${cluster.port} sslmode=disable'\n`;
        }
        return file.content ?? '';
      };
      const volumeDirs = new Map<string, string>();
      for (const mount of container.volumeMounts as K8sObject[]) {
        const dir = join(root, 'volumes', mount.name);
        mkdirSync(join(dir, '..2026_12_02_00_00_00.000000001'), { recursive: true });
        symlinkSync('..2026_12_02_00_00_00.000000001', join(dir, '..data'));
        volumeDirs.set(mount.mountPath, dir);
      }
      for (const [path, file] of files) {
        const mountPath = dirname(path);
        const dir = volumeDirs.get(mountPath);
        assert.ok(dir);
        const name = posix.basename(path);
        const target = join(dir, '..data', name);
        const isSecret = file.mode !== 0o644;
        writeFileSync(target, isSecret ? secretContent(file, path) : (file.content ?? ''));
        if (isSecret) {
          chownSync(target, 0, podSpec.securityContext.fsGroup);
          // fsGroup adds group read to the Secret's defaultMode.
          chmodSync(target, file.mode | 0o040);
        }
        symlinkSync(join('..data', name), join(dir, name));
      }
      // Nested mount points (tls/, upstream/) exist inside the config volume, as the kubelet
      // creates them.
      for (const mountPath of volumeDirs.keys()) {
        const parent = [...volumeDirs.keys()].find(
          (other) => other !== mountPath && mountPath.startsWith(`${other}/`),
        );
        if (parent)
          mkdirSync(join(volumeDirs.get(parent) ?? '', posix.relative(parent, mountPath)));
      }

      // A pod of its own: network namespace (loopback plus a pod address) and mount namespace
      // (a private /etc with /etc/pgtunnel and its nested mounts bound in).
      const mounts = [...volumeDirs.entries()]
        .sort(([a], [b]) => a.length - b.length)
        .map(([path, dir]) => `mkdir -p ${path} 2>/dev/null || true; mount --bind ${dir} ${path}`);
      const script = [
        'set -eu',
        'ip link set lo up',
        `ip addr add ${podAddress}/32 dev lo`,
        'mount -t tmpfs tmpfs /etc',
        ...mounts,
        `exec setpriv --reuid=${uid} --regid=${gid} --clear-groups "$@"`,
      ].join('\n');
      const command = local([...image.entrypoint, ...container.args]);
      gateway = spawn(
        'unshare',
        [
          '--net',
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-c',
          script,
          'pod',
          process.execPath,
          ...command.slice(1),
        ],
        // A pod's environment, not this machine's (NODE_EXTRA_CA_CERTS would name a hidden file).
        { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, LANG: 'C' } },
      );
      gateway.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      const ready = new Promise<void>((resolve, reject) => {
        gateway?.stderr?.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('ready to accept connections')) resolve();
        });
        gateway?.once('exit', (code) => reject(new Error(`the pod exited (${code}):\n${output}`)));
      });
      await ready;
    });

    after(async () => {
      if (gateway && gateway.exitCode === null && gateway.signalCode === null) {
        gateway.kill('SIGKILL');
        await new Promise((resolve) => gateway?.once('exit', resolve));
      }
      await cluster?.stop();
      await pki?.cleanup();
      if (root) rmSync(root, { recursive: true, force: true });
    });

    it('starts as the pod user with the mounted configuration, hba file and certificate', () => {
      assert.match(output, /ready to accept connections/);
      assert.doesNotMatch(output, /"level":(40|50)/, 'no warning or error at start');
    });

    it('passes the manifest’s readiness and liveness exec probes', async () => {
      for (const probe of [container.readinessProbe, container.livenessProbe]) {
        const result = await inPod(probe.exec.command);
        assert.equal(result.code, 0, `${probe.exec.command.join(' ')}: ${result.stderr}`);
      }
    });

    it('serves psql (verify-full) from a pod-network address the mounted hba admits, and refuses loopback', async () => {
      const conninfo = (hostaddr: string) =>
        `host=localhost hostaddr=${hostaddr} port=6432 user=postgres dbname=postgres sslmode=verify-full sslrootcert=${pki.caBundle}`;
      const psql = clientBinary('psql');
      const ok = await inPod(
        [psql, '-X', '-A', '-t', '-d', conninfo(podAddress), '-c', 'SELECT 6 * 7'],
        false,
      );
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout.trim(), '42');
      const refused = await inPod(
        [psql, '-X', '-d', conninfo('127.0.0.1'), '-c', 'SELECT 1'],
        false,
      );
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /no pg_hba\.conf entry for host "127\.0\.0\.1"/);
    });

    it('stops cleanly on SIGTERM, as the kubelet sends it after preStop', async () => {
      const exited = new Promise<number | null>((resolve) => gateway?.once('exit', resolve));
      gateway?.kill('SIGTERM');
      assert.equal(await exited, 0, output);
    });
  });
});
