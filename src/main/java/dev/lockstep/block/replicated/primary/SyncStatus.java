package dev.lockstep.block.replicated.primary;

/**
 * Progress of a synchronisation with the secondary.
 *
 * @param running whether it is still running
 * @param totalBytes the size of the disk
 * @param comparedBytes bytes compared so far (copied chunks count as compared)
 * @param copiedBytes bytes copied to the secondary because they differed or were dirty
 * @param bytesPerSecond the comparison rate so far
 * @param elapsedMillis time since it began
 */
public record SyncStatus(boolean running, long totalBytes, long comparedBytes, long copiedBytes, long bytesPerSecond,
		long elapsedMillis) {

	@Override
	public String toString() {
		return String.format("%d of %d MiB compared, %d MiB copied, %.1f MiB/s%s", this.comparedBytes >> 20,
				this.totalBytes >> 20, this.copiedBytes >> 20, this.bytesPerSecond / 1048576.0,
				this.running ? "" : ", done in " + this.elapsedMillis + " ms");
	}

}
