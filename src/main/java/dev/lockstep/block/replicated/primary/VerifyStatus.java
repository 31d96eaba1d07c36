package dev.lockstep.block.replicated.primary;

import java.time.Instant;
import java.util.List;

import org.jspecify.annotations.Nullable;

/**
 * Progress and result of an online verify of a disk.
 *
 * @param state {@code running}, {@code completed}, {@code cancelled} or {@code failed}
 * @param running whether it is still running
 * @param repair whether mismatching chunks are copied to the secondary
 * @param totalBytes the size of the disk
 * @param comparedBytes bytes compared so far
 * @param mismatchedChunks chunks (1 MiB) whose data differed on the secondary
 * @param mismatchedOffsets the byte offsets of the first of them (at most
 * {@value Verify#OFFSETS_SHOWN})
 * @param repairedChunks mismatching chunks copied to the secondary
 * @param bytesPerSecond the comparison rate so far
 * @param startedAt when it started
 * @param finishedAt when it ended, or {@code null} while running
 * @param error why it failed or was cancelled, or {@code null}
 */
public record VerifyStatus(String state, boolean running, boolean repair, long totalBytes, long comparedBytes,
		long mismatchedChunks, List<Long> mismatchedOffsets, long repairedChunks, long bytesPerSecond,
		Instant startedAt, @Nullable Instant finishedAt, @Nullable String error) {

	@Override
	public String toString() {
		return String.format("%d of %d MiB compared, %d mismatched chunk(s)%s, %d repaired, %.1f MiB/s",
				this.comparedBytes >> 20, this.totalBytes >> 20, this.mismatchedChunks,
				this.mismatchedOffsets.isEmpty() ? ""
						: " at offset(s) " + this.mismatchedOffsets
								+ ((this.mismatchedChunks > this.mismatchedOffsets.size()) ? "..." : ""),
				this.repairedChunks, this.bytesPerSecond / 1048576.0);
	}

}
