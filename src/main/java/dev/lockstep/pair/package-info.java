/**
 * The pair of nodes: where the peer's API is, and the check that a failover makes there
 * first, so that a secondary does not take over from a primary that is still alive. It
 * depends on the coordinator ({@code dev.lockstep.replication}), whose
 * {@code FailoverGuard} it implements, on {@code dev.lockstep.security} for this node's
 * own token, on {@code dev.lockstep.logging} and on Spring's {@code RestClient}; nothing
 * depends on it.
 */
@NullMarked
package dev.lockstep.pair;

import org.jspecify.annotations.NullMarked;
