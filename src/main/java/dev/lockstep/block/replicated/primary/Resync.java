package dev.lockstep.block.replicated.primary;

import java.io.IOException;
import java.util.concurrent.locks.Lock;
import java.util.function.BooleanSupplier;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

/**
 * Makes the secondary's disk identical to the primary's, chunk by chunk. Chunks in the
 * dirty bitmap are copied outright; every other chunk is compared by its SHA-256 hash,
 * read from the secondary's {@code <disk>.replica.sha256} export ({@link ChunkWalk}), and
 * copied only if it differs. Forwarding is already on while this runs, and each chunk is
 * compared and copied under its chunk lock, so writes that arrive meanwhile can never be
 * overtaken by a stale copy.
 */
public final class Resync {

	private static final Log logger = LogFactory.getLog(Resync.class);

	private final String disk;

	private final PrimaryDevice primary;

	private final RemoteDisk remoteHashes;

	private final DirtyChunks dirty;

	private final SyncProgress progress;

	private final ProgressLog log;

	private final BooleanSupplier cancelled;

	public Resync(String disk, PrimaryDevice primary, RemoteDisk remoteHashes, DirtyChunks dirty, SyncProgress progress,
			long logIntervalNanos, BooleanSupplier cancelled) {
		this.cancelled = cancelled;
		this.disk = disk;
		this.primary = primary;
		this.remoteHashes = remoteHashes;
		this.dirty = dirty;
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
		this.progress.begin(this.primary.local().size());
		try {
			new ChunkWalk("Synchronisation of disk '" + this.disk + "'", "lockstep-resync-" + this.disk, this.primary,
					this.remoteHashes, this.cancelled, this.log::maybeLog)
				.run(this::syncChunk);
		}
		finally {
			this.progress.end();
		}
		logger
			.info(String.format("Disk '%s': synchronised with the secondary: %s", this.disk, this.progress.snapshot()));
	}

	private void syncChunk(LocalChunk chunk, byte[] remoteHash) throws IOException {
		Lock lock = chunk.lock();
		lock.lock();
		try {
			if (this.dirty.isDirty(chunk.index()) || !chunk.matches(remoteHash)) {
				chunk.copyToSecondary();
				this.progress.copied(chunk.length());
			}
			this.dirty.clear(chunk.index());
			this.progress.compared(chunk.length());
		}
		finally {
			lock.unlock();
		}
	}

}
