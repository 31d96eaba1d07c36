/**
 * The status page served at {@code /}: the headers its resources are served with and the
 * node facts it reads from {@code /actuator/info}. The page itself is static (under
 * {@code static/} in the jar) and reads everything else through the public API; this
 * package depends on nothing else of Lockstep.
 */
@NullMarked
package dev.lockstep.page;

import org.jspecify.annotations.NullMarked;
