// Preloaded before every test file (bunfig.toml): after each test, kill what it started and
// remove its temp dirs, whichever file it is in; after a file's last test (in a serial run, after
// the last file's), remove the world-readable copy of dist/ the helpers may have made.
import { afterAll, afterEach } from "bun:test";
import { cleanUp, removeProgramsCopy } from "./helpers";

afterEach(cleanUp);
afterAll(removeProgramsCopy);
