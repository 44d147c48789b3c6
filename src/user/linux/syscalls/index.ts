/** Every syscall area registers its calls on import. */
import "./mm.js";
import "./proc.js";
import "./io.js";
import "./signal.js";
import "./thread.js";
import "./poll.js";
import "./exec.js";
import "./wait.js";
import "./fs.js";
import "./time.js";
import "./info.js";
import "./epoll.js";
import "./net.js";
