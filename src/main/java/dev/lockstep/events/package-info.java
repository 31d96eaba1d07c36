/**
 * The event stream, {@code GET /api/v1/events}: what the coordinator does, the errors the
 * error sweep sees and the disks' synchronisation progress, as Server-Sent Events with
 * increasing ids, a replay buffer and a bounded buffer per client. It depends on the
 * coordinator ({@code replication}), on the block participant's status and on Spring MVC;
 * nothing depends on it.
 */
@NullMarked
package dev.lockstep.events;

import org.jspecify.annotations.NullMarked;
