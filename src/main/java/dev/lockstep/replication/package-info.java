/**
 * The coordinator that drives every registered {@link ReplicationParticipant} through the
 * replication lifecycle (start, checkpoint, stop), one operation at a time and under
 * per-call deadlines, and the error sweep that health probes and status queries share.
 * The coordinator announces each operation, step and state change to its
 * {@link dev.lockstep.replication.OperationListener}s. It depends on Spring, Micrometer
 * and Jackson's annotations only: the web API, the health indicators and the participants
 * depend on it, never the other way round.
 */
@NullMarked
package dev.lockstep.replication;

import org.jspecify.annotations.NullMarked;
