/**
 * Helpers for what goes into log lines. Depends on nothing else in Lockstep, so that
 * every feature package may use it.
 */
@NullMarked
package dev.lockstep.logging;

import org.jspecify.annotations.NullMarked;
