// rodent's own binary: the kit with no application plugins but its /debug routes (--dev only).
import { VERSION } from "./build-info";
import { debugRoutes } from "./debug-routes";
import { rodent } from "./rodent";

void rodent({ name: "rodent", version: VERSION, plugins: [debugRoutes] });
