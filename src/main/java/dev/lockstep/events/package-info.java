/**
 * The event stream, {@code GET /api/v1/events}: what the coordinator does, the errors the
 * error sweep sees, the disks' synchronisation progress and the peer's reachability, as
 * Server-Sent Events with increasing ids, a replay buffer and a bounded buffer per
 * client. It depends on the coordinator ({@code replication}), on the block participant's
 * status, on the pair's peer ({@code pair}) and on Spring MVC; nothing depends on it.
 */
@NullMarked
package dev.lockstep.events;

import org.jspecify.annotations.NullMarked;
