import { describe, expect, test } from "bun:test";
import { clientInfo, compileTrust } from "../../src/http/trust";

const loopback = compileTrust(["127.0.0.0/8", "::1"]);
const h = (init: Record<string, string>) => new Headers(init);

describe("proxy trust", () => {
  test("CIDR matching for IPv4, IPv6 and IPv4-mapped addresses", () => {
    const t = compileTrust(["10.0.0.0/8", "192.168.1.7", "fd00::/8"]);
    expect(t("10.200.3.4")).toBe(true);
    expect(t("11.0.0.1")).toBe(false);
    expect(t("192.168.1.7")).toBe(true);
    expect(t("192.168.1.8")).toBe(false);
    expect(t("::ffff:10.1.1.1")).toBe(true);
    expect(t("fd12:3456::1")).toBe(true);
    expect(t("fe80::1")).toBe(false);
    expect(t(undefined)).toBe(false);
    expect(t("not an ip")).toBe(false);
    expect(t("10.0.0.256")).toBe(false);
    expect(t("fd00::1::2")).toBe(false);
    expect(t("fd00:12345::1")).toBe(false);
  });

  test("forwarded headers from an untrusted peer are ignored", () => {
    const info = clientInfo("203.0.113.9", h({ "x-forwarded-for": "1.2.3.4", "x-forwarded-proto": "https" }), loopback, "http");
    expect(info).toEqual({ ip: "203.0.113.9", scheme: "http" });
  });

  test("from a trusted peer, the rightmost untrusted X-Forwarded-For hop is the client", () => {
    const info = clientInfo("127.0.0.1", h({ "x-forwarded-for": "6.6.6.6, 198.51.100.7, 127.0.0.5", "x-forwarded-proto": "https" }), loopback, "http");
    expect(info).toEqual({ ip: "198.51.100.7", scheme: "https" });
  });

  test("the Forwarded header is understood", () => {
    const info = clientInfo("::1", h({ forwarded: 'for=192.0.2.60;proto=https, for="[2001:db8::1]:4711"' }), loopback, "http");
    expect(info).toEqual({ ip: "2001:db8::1", scheme: "https" });
  });

  test("a unix-socket peer is trusted as loopback is; a trusted peer without forwarding headers is the client", () => {
    expect(clientInfo(undefined, h({ "x-forwarded-for": "198.51.100.7" }), loopback, "http").ip).toBe("198.51.100.7");
    expect(clientInfo(undefined, h({ "x-forwarded-for": "198.51.100.7" }), compileTrust([]), "http").ip).toBe("unix");
    expect(clientInfo("127.0.0.1", h({}), loopback, "http")).toEqual({ ip: "127.0.0.1", scheme: "http" });
  });

  test("garbage in X-Forwarded-For stops the walk at the last good hop", () => {
    const info = clientInfo("127.0.0.1", h({ "x-forwarded-for": "<script>, 198.51.100.7" }), loopback, "http");
    expect(info.ip).toBe("198.51.100.7");
  });
});
