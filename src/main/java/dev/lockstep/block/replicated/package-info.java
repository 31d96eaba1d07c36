/**
 * The block replication participant: COLO-style replication of every disk of the engine
 * as one {@link dev.lockstep.replication.ReplicationParticipant}, its configuration, its
 * status records, its per-disk meters ({@code DiskReplicationMeters}) and the replication
 * of one disk ({@code DiskReplication}), which switches each disk between its layer
 * stacks, with how a disk becomes primary ({@code PrimaryRole}) and what it is while
 * secondary ({@code SecondaryRole}). Depends on the primary, secondary, protocol and
 * layer packages and on the core block types; nothing in those packages depends on this
 * one.
 */
@NullMarked
package dev.lockstep.block.replicated;

import org.jspecify.annotations.NullMarked;
