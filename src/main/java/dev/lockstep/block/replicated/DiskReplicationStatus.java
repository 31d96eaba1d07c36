package dev.lockstep.block.replicated;

import java.time.Instant;

import org.jspecify.annotations.Nullable;

import dev.lockstep.block.replicated.lineage.LineageStatus;
import dev.lockstep.block.replicated.primary.SyncStatus;
import dev.lockstep.block.replicated.primary.VerifyStatus;

/**
 * The replication status of one disk.
 *
 * @param disk the disk's name
 * @param replication {@code colo} or {@code mirror}
 * @param role {@code idle}, {@code primary}, {@code secondary} or {@code failed_over}
 * @param peer the secondary's URL while primary, else {@code null}
 * @param forwarding whether writes are being forwarded to the secondary
 * @param dirtyBytes bytes marked for the next resynchronisation (1 MiB chunks)
 * @param activeOverlayBytes bytes held by the active overlay (secondary, colo)
 * @param hiddenOverlayBytes bytes held by the hidden overlay (secondary, colo)
 * @param sync the last or running synchronisation, or {@code null} if none ran
 * @param error the disk's current fault, or {@code null}
 * @param primaryLostSince while secondary, since when its primary is lost, or
 * {@code null}
 * @param verify the last or running online verify, or {@code null} if none ran
 * @param lineage the disk's data lineage: its generations and what a crash left in doubt
 */
public record DiskReplicationStatus(String disk, String replication, String role, @Nullable String peer,
		boolean forwarding, long dirtyBytes, long activeOverlayBytes, long hiddenOverlayBytes,
		@Nullable SyncStatus sync, @Nullable String error, @Nullable Instant primaryLostSince,
		@Nullable VerifyStatus verify, LineageStatus lineage) {
}
