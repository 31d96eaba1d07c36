package dev.lockstep.block.replicated;

import java.util.List;

import org.jspecify.annotations.Nullable;

/**
 * The status of block replication on this node, for {@code GET /api/v1/replication}.
 *
 * @param participant the participant's name
 * @param peer the configured peer, or {@code null}
 * @param disks one entry per replicated disk
 */
public record BlockReplicationStatus(String participant, @Nullable String peer, List<DiskReplicationStatus> disks) {
}
