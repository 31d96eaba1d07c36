package dev.lockstep.block.replicated.primary;

import java.io.IOException;
import java.util.concurrent.locks.Lock;
import java.util.function.BooleanSupplier;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import dev.lockstep.block.replicated.lineage.DirtyChunks;
import dev.lockstep.block.replicated.lineage.SyncPlan;
import dev.lockstep.block.replicated.protocol.PeerProtocol;

/**
 * Makes the secondary's disk identical to the primary's, chunk by chunk, as a
 * {@link SyncPlan} says: the chunks it copies (the dirty ones) are copied outright; the
 * chunks it compares are compared by their SHA-256 hash, read from the secondary's
 * {@code <disk>.replica.sha256} export ({@link ChunkWalk}), and copied only if they
 * differ; no other chunk is read. Forwarding is already on while this runs, and each
 * chunk is compared and copied under its chunk lock, so writes that arrive meanwhile can
 * never be overtaken by a stale copy.
 */
public final class Resync {

	private static final Log logger = LogFactory.getLog(Resync.class);

	private final String disk;

	private final PrimaryDevice primary;

	private final RemoteDisk remoteHashes;

	private final DirtyChunks dirty;

	private final SyncPlan plan;

	private final SyncProgress progress;

	private final ProgressLog log;

	private final BooleanSupplier cancelled;

	/**
	 * @param disk the disk's name
	 * @param primary the forwarding device
	 * @param remoteHashes a connection to the secondary's hash export
	 * @param dirty the disk's dirty bitmap: chunks marked there are copied too, and each
	 * chunk synchronised is cleared there
	 * @param plan the chunks to copy and to compare
	 * @param progress where progress is reported
	 * @param logIntervalNanos how often progress is logged
	 * @param cancelled polled between chunks
	 */
	public Resync(String disk, PrimaryDevice primary, RemoteDisk remoteHashes, DirtyChunks dirty, SyncPlan plan,
			SyncProgress progress, long logIntervalNanos, BooleanSupplier cancelled) {
		this.cancelled = cancelled;
		this.disk = disk;
		this.primary = primary;
		this.remoteHashes = remoteHashes;
		this.dirty = dirty;
		this.plan = plan;
		this.progress = progress;
		this.log = new ProgressLog(logIntervalNanos, () -> logger
			.info(String.format("Disk '%s': synchronising with the secondary: %s", disk, progress.snapshot())));
	}

	/**
	 * Runs the resynchronisation to its end; throws on the first failure, or
	 * {@link InterruptedException} once cancelled. Runs on the calling thread and one
	 * more, neither of which may be interrupted (file channels close on interrupt).
	 */
	public void run() throws IOException, InterruptedException {
		this.progress.begin(this.plan.method().name().toLowerCase(java.util.Locale.ROOT), this.plan.reason(),
				visitedBytes());
		if (this.plan.method() == SyncPlan.Method.NONE) {
			this.progress.end();
			logger.info(String.format("Disk '%s': nothing to synchronise: %s", this.disk, this.plan.reason()));
			return;
		}
		logger.info(String.format("Disk '%s': synchronising (%s): %s", this.disk,
				this.plan.method().name().toLowerCase(java.util.Locale.ROOT), this.plan.reason()));
		try {
			new ChunkWalk("Synchronisation of disk '" + this.disk + "'", "lockstep-resync-" + this.disk, this.primary,
					this.remoteHashes, this.cancelled, this.log::maybeLog)
				.only(this.plan)
				.run(this::syncChunk);
		}
		finally {
			this.progress.end();
		}
		logger
			.info(String.format("Disk '%s': synchronised with the secondary: %s", this.disk, this.progress.snapshot()));
	}

	private long visitedBytes() {
		long size = this.primary.local().size();
		long bytes = 0;
		for (long chunk = 0; chunk < this.plan.copy().chunks(); chunk++) {
			if (this.plan.visits(chunk)) {
				bytes += Math.min(PeerProtocol.CHUNK_SIZE, size - chunk * PeerProtocol.CHUNK_SIZE);
			}
		}
		return bytes;
	}

	private void syncChunk(LocalChunk chunk, byte[] remoteHash) throws IOException {
		Lock lock = chunk.lock();
		lock.lock();
		try {
			boolean copy = this.plan.copy().isDirty(chunk.index()) || this.dirty.isDirty(chunk.index());
			if (copy || !chunk.matches(remoteHash)) {
				chunk.copyToSecondary();
				this.progress.copied(chunk.length());
			}
			if (!copy) {
				this.progress.hashed(chunk.length());
			}
			this.dirty.clear(chunk.index());
			this.progress.compared(chunk.length());
		}
		finally {
			lock.unlock();
		}
	}

}
