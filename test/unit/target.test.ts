import { describe, expect, test } from "bun:test";
import { pathOf, redactedTarget } from "../../src/http/target";

describe("request target", () => {
  test("the path of absolute and relative URLs", () => {
    expect(pathOf("http://127.0.0.1:8042/ready?x=1")).toBe("/ready");
    expect(pathOf("/ready")).toBe("/ready");
    expect(pathOf("http://host")).toBe("/");
    expect(pathOf("http://host//a")).toBe("//a");
  });

  test("secret values are redacted whatever the separator or spelling; the rest is kept as sent", () => {
    expect(redactedTarget("http://h/x?page=2&q=a%20b")).toBe("/x?page=2&q=a%20b");
    expect(redactedTarget("http://h/x?a=1;access_token=abc&sig=x==&%74oken=t&my+pass=p")).toBe("/x?a=1;access_token=REDACTED&sig=REDACTED&%74oken=REDACTED&my+pass=REDACTED");
    expect(redactedTarget("http://h/shop;jsessionid=ABC123/cart;v=2?PHPSESSID=z")).toBe("/shop;jsessionid=REDACTED/cart;v=2?PHPSESSID=REDACTED");
    expect(redactedTarget("/ready?otp=1")).toBe("/ready?otp=REDACTED");
    expect(redactedTarget("http://h/x?token&%zz=1")).toBe("/x?token&%zz=1");
  });
});
