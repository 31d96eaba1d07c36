package dev.lockstep.block.replicated.primary;

import org.jspecify.annotations.Nullable;

/**
 * Progress of a synchronisation with the secondary.
 *
 * @param running whether it is still running
 * @param method how it chose the chunks it looks at: {@code none} (the disks were known
 * to be equal), {@code bitmap} (only the chunks the nodes' bitmaps name) or {@code full}
 * (every chunk compared by hash)
 * @param reason why that method, from the comparison of both nodes' lineages
 * @param totalBytes the bytes of the chunks it looks at: the size of the disk for
 * {@code full}
 * @param comparedBytes bytes looked at so far (copied chunks count as compared)
 * @param hashedBytes bytes compared by hash so far, on both nodes
 * @param copiedBytes bytes copied to the secondary because they differed or were dirty
 * @param bytesPerSecond the comparison rate so far
 * @param elapsedMillis time since it began
 */
public record SyncStatus(boolean running, @Nullable String method, @Nullable String reason, long totalBytes,
		long comparedBytes, long hashedBytes, long copiedBytes, long bytesPerSecond, long elapsedMillis) {

	@Override
	public String toString() {
		return String.format("%d of %d MiB compared (%d MiB by hash), %d MiB copied, %.1f MiB/s%s",
				this.comparedBytes >> 20, this.totalBytes >> 20, this.hashedBytes >> 20, this.copiedBytes >> 20,
				this.bytesPerSecond / 1048576.0, this.running ? "" : ", done in " + this.elapsedMillis + " ms");
	}

}
