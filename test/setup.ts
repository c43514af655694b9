// Preloaded before every test file (bunfig.toml): after each test, kill what it started and
// remove its temp dirs, whichever file it is in.
import { afterEach } from "bun:test";
import { cleanUp } from "./helpers";

afterEach(cleanUp);
