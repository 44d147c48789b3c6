/** Every syscall area registers its calls on import. */
import "./mm.js";
import "./proc.js";
import "./io.js";
