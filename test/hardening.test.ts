// Deployment hardening that can be checked without running systemd or a cluster: the systemd
// unit's exposure score and the Kubernetes manifest's admission under the "restricted" Pod
// Security Standard.
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { BIN, ROOT, tempDir } from "./helpers";

const analyze = Bun.which("systemd-analyze", { PATH: `${process.env.PATH}:/usr/bin:/usr/sbin` });

describe.if(analyze !== null)("contrib/systemd/rodent.service", () => {
  test("systemd-analyze security rates its exposure at most 2.0, with the filters that matter in place", () => {
    const dir = tempDir();
    const unit = readFileSync(join(ROOT, "contrib/systemd/rodent.service"), "utf8").replaceAll("/usr/local/bin/rodent", BIN);
    writeFileSync(join(dir, "rodent.service"), unit);
    const r = Bun.spawnSync([analyze!, "security", "--offline=yes", "--no-pager", join(dir, "rodent.service")], { stdout: "pipe", stderr: "pipe" });
    const out = r.stdout.toString() + r.stderr.toString();
    const score = Number(out.match(/Overall exposure level for rodent\.service: ([\d.]+)/)?.[1]);
    expect(score).toBeLessThanOrEqual(2.0);
    for (const passed of ["SystemCallFilter=~@privileged", "SystemCallFilter=~@resources", "ProtectProc=", "ProtectHome=", "PrivateDevices=", "RestrictAddressFamilies=~AF_NETLINK", "NoNewPrivileges="]) {
      expect(out).toMatch(new RegExp(`✓ ${passed.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    }
  });

  test("the features keep what they need: notify socket, PID and log directories, restart's exec", () => {
    const unit = readFileSync(join(ROOT, "contrib/systemd/rodent.service"), "utf8");
    const settings = unit.split("\n").filter((l) => /^[A-Z]\w*=/.test(l));
    const values = (key: string) => settings.filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
    expect(values("Type")).toEqual(["notify"]);
    expect(values("RestrictAddressFamilies")[0]!.split(" ")).toContain("AF_UNIX");
    expect(values("ReadWritePaths")[0]!.split(" ").sort()).toEqual(["/run/rodent", "/var/log/rodent"]);
    expect(values("SystemCallFilter")).toEqual(["@system-service", "~@privileged @resources"]);
    // Bun's JIT maps write+execute memory: the option would silently turn it off
    expect(values("MemoryDenyWriteExecute")).toEqual([]);
    expect(values("ProcSubset")).toEqual([]);
  });
});

describe("contrib/kubernetes/deployment.yaml", () => {
  const docs = parseAllDocuments(readFileSync(join(ROOT, "contrib/kubernetes/deployment.yaml"), "utf8")).map((d) => d.toJS());
  const deployment = docs.find((d) => d.kind === "Deployment");
  const pod = deployment.spec.template.spec;
  const containers = [...(pod.initContainers ?? []), ...pod.containers];

  test("the pod meets the restricted Pod Security Standard", () => {
    for (const key of ["hostNetwork", "hostPID", "hostIPC"]) expect(pod[key] ?? false).toBe(false);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(pod.securityContext.seccompProfile).toEqual({ type: "RuntimeDefault" });
    const allowedVolumes = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];
    for (const volume of pod.volumes) expect(Object.keys(volume).filter((k) => k !== "name").every((k) => allowedVolumes.includes(k))).toBe(true);
    for (const c of containers) {
      const sc = c.securityContext;
      expect(sc.allowPrivilegeEscalation).toBe(false);
      expect(sc.privileged ?? false).toBe(false);
      expect(sc.capabilities.drop).toEqual(["ALL"]);
      expect((sc.capabilities.add ?? []).every((cap: string) => cap === "NET_BIND_SERVICE")).toBe(true);
      expect(sc.runAsNonRoot ?? pod.securityContext.runAsNonRoot).toBe(true);
      expect(sc.runAsUser ?? pod.securityContext.runAsUser).not.toBe(0);
      if (sc.seccompProfile) expect(["RuntimeDefault", "Localhost"]).toContain(sc.seccompProfile.type);
      for (const p of c.ports ?? []) expect(p.hostPort).toBeUndefined();
    }
  });

  test("the root filesystem is read-only and every path rodent writes is an emptyDir", () => {
    const [c] = pod.containers;
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    const env = Object.fromEntries(c.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    const mounts = new Map<string, string>(c.volumeMounts.map((m: { name: string; mountPath: string }) => [m.mountPath, m.name]));
    const emptyDirs = new Set(pod.volumes.filter((v: { emptyDir?: unknown }) => v.emptyDir).map((v: { name: string }) => v.name));
    // the PID file (and the status record beside it), and /tmp
    const pidDir = String(env.RODENT_SERVER_PIDFILE).replace(/\/[^/]+$/, "");
    for (const path of [pidDir, "/tmp"]) expect(emptyDirs.has(mounts.get(path)!)).toBe(true);
    // logs go to stdout: nothing else needs a writable path
    expect(env.RODENT_LOGS_OUTPUT ?? "stdout").toBe("stdout");
  });

  test("the scrape annotations name the container's port and the metrics path rodent serves by default", async () => {
    const annotations = deployment.spec.template.metadata.annotations;
    const port = pod.containers[0].ports.find((p: { name: string }) => p.name === "http").containerPort;
    expect(annotations["prometheus.io/scrape"]).toBe("true");
    expect(annotations["prometheus.io/port"]).toBe(String(port));
    const printed = Bun.spawnSync([BIN, "config", "print"], { stdout: "pipe", env: { PATH: process.env.PATH, HOME: tempDir() } }).stdout.toString();
    expect(printed).toContain(`metrics.path: "${annotations["prometheus.io/path"]}"  # default`);
  });

  test("imagePullPolicy fits the image tag: Always for latest or no tag, IfNotPresent for a pinned tag or digest", () => {
    for (const c of containers) {
      const image = String(c.image);
      const tag = image.includes("@") ? "digest" : (image.split("/").at(-1)!.split(":")[1] ?? "latest");
      expect(c.imagePullPolicy).toBe(tag === "latest" ? "Always" : "IfNotPresent");
    }
  });
});
