// Which socket the old instance closes in a hand-over: the /proc/net/tcp table read right.
import { describe, expect, test } from "bun:test";
import { listeningInodes } from "../../src/http/adapter/stop-accepting";

// the kernel's layout (trailing columns trimmed): 8042 is 1F6A
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F6A 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4101 1 0
   1: 00000000:1F6A 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4102 1 0
   2: 0100007F:1F6A 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 4103 1 0
   3: 0100007F:1F6B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4104 1 0
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1F6A 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4105 1 0
`;

describe("listeningInodes", () => {
  test("lists the listening sockets on the port, not its connections nor the next port", () => {
    expect(listeningInodes(TCP, 8042)).toEqual(["4101", "4102"]);
    expect(listeningInodes(TCP, 8043)).toEqual(["4104"]);
    expect(listeningInodes(TCP6, 8042)).toEqual(["4105"]);
    expect(listeningInodes(TCP, 80)).toEqual([]);
    expect(listeningInodes("", 8042)).toEqual([]);
  });
});
