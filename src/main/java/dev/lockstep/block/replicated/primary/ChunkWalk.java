package dev.lockstep.block.replicated.primary;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import org.jspecify.annotations.Nullable;

import dev.lockstep.block.replicated.lineage.DirtyChunks;
import dev.lockstep.block.replicated.lineage.SyncPlan;
import dev.lockstep.block.replicated.protocol.PeerProtocol;

import static dev.lockstep.block.replicated.protocol.PeerProtocol.HASH_SIZE;

/**
 * Walks every chunk of the primary's disk alongside the secondary's hash of it, read from
 * the secondary's {@code <disk>.replica.sha256} export, and hands each pair to a
 * {@link Visitor}: the common part of a synchronisation ({@link Resync}) and of a verify
 * ({@link Verify}). Two threads work through batches of chunks; each asks for the next
 * batch's hashes before it hashes its own chunks, so that both sides hash at the same
 * time. A hash asked for this way may be older than the chunk the visitor looks at under
 * its lock: a visitor that must not act on that asks again with {@link #remoteHash}.
 */
final class ChunkWalk {

	/** Hashes asked for per request: 32 chunks, 1 KiB of hashes. */
	private static final int BATCH = 32;

	private static final int WORKERS = 2;

	private final String name;

	private final String threadName;

	private final PrimaryDevice primary;

	private final RemoteDisk remoteHashes;

	private final BooleanSupplier cancelled;

	private final Runnable afterBatch;

	private Duration batchTimeout;

	private SyncPlan plan;

	/**
	 * @param name what walks, for thread names and the cancellation's message, e.g.
	 * {@code "Synchronisation of disk 'disk0'"}
	 * @param threadName the name of the second worker thread
	 * @param primary the primary's device
	 * @param remoteHashes a connection to the secondary's hash export
	 * @param cancelled polled between chunks
	 * @param afterBatch run after each batch, e.g. to log progress
	 */
	ChunkWalk(String name, String threadName, PrimaryDevice primary, RemoteDisk remoteHashes, BooleanSupplier cancelled,
			Runnable afterBatch) {
		this.name = name;
		this.threadName = threadName;
		this.primary = primary;
		this.remoteHashes = remoteHashes;
		this.cancelled = cancelled;
		this.afterBatch = afterBatch;
		this.batchTimeout = primary.forwardTimeout();
		this.plan = everyChunk(primary.local().size());
	}

	/**
	 * Visits only the chunks a synchronisation plan names, and asks the secondary only
	 * for the hashes of those it compares; every chunk by default.
	 * @param selection the plan
	 * @return this walk
	 */
	ChunkWalk only(SyncPlan selection) {
		this.plan = selection;
		return this;
	}

	private static SyncPlan everyChunk(long size) {
		DirtyChunks all = new DirtyChunks(size);
		all.markAll();
		return new SyncPlan(SyncPlan.Method.FULL, new DirtyChunks(size), all, "every chunk");
	}

	/**
	 * Waits up to {@code timeout}, instead of the forward timeout, for a batch of hashes
	 * asked for ahead. No lock is held during that wait, so a walk that runs beside the
	 * workload's writes, and competes with them on the secondary, may be patient. A
	 * chunk's hash asked for under its lock ({@link #remoteHash}) is still bounded by the
	 * forward timeout, because writes to the chunk wait for it.
	 * @param timeout the longest wait for a batch
	 * @return this walk
	 */
	ChunkWalk batchTimeout(Duration timeout) {
		this.batchTimeout = timeout;
		return this;
	}

	/**
	 * Visits every chunk; throws on the first failure, or {@link InterruptedException}
	 * once cancelled. Runs on the calling thread and one more, neither of which may be
	 * interrupted (file channels close on interrupt).
	 */
	void run(Visitor visitor) throws IOException, InterruptedException {
		long chunks = PeerProtocol.chunkCount(this.primary.local().size());
		AtomicLong nextBatch = new AtomicLong();
		Throwable[] failure = new Throwable[1];
		Runnable work = () -> {
			try {
				LocalChunk chunk = new LocalChunk(this.primary);
				HashBatch current = requestBatch(nextBatch, chunks);
				while (current != null) {
					synchronized (failure) {
						if (failure[0] != null) {
							return;
						}
					}
					checkCancelled();
					HashBatch next = requestBatch(nextBatch, chunks);
					this.remoteHashes.await(current.reply(), this.batchTimeout);
					for (int i = 0; i < current.count(); i++) {
						if (!this.plan.visits(current.first() + i)) {
							continue;
						}
						checkCancelled();
						chunk.at(current.first() + i);
						visitor.visit(chunk,
								Arrays.copyOfRange(current.hashes().array(), i * HASH_SIZE, (i + 1) * HASH_SIZE));
					}
					this.afterBatch.run();
					current = next;
				}
			}
			catch (Throwable ex) {
				synchronized (failure) {
					if (failure[0] == null) {
						failure[0] = ex;
					}
				}
			}
		};
		Thread[] threads = new Thread[WORKERS - 1];
		for (int i = 0; i < threads.length; i++) {
			threads[i] = new Thread(work, this.threadName + "-" + i);
			threads[i].setDaemon(true);
			threads[i].start();
		}
		try {
			work.run();
		}
		finally {
			// Never interrupt a thread doing file I/O: an interrupt closes the image's
			// channel.
			for (Thread thread : threads) {
				joinUninterruptibly(thread);
			}
		}
		rethrow(failure[0]);
	}

	/**
	 * Asks the secondary for the hash of one chunk and waits for it: a chunk's hash as of
	 * now, for a caller that holds the chunk's lock.
	 */
	byte[] remoteHash(long chunk) throws IOException {
		ByteBuffer hash = ByteBuffer.allocate(HASH_SIZE);
		this.remoteHashes.await(this.remoteHashes.read(chunk * HASH_SIZE, hash), this.primary.forwardTimeout());
		return hash.array();
	}

	Duration forwardTimeout() {
		return this.primary.forwardTimeout();
	}

	private void checkCancelled() throws InterruptedException {
		if (this.cancelled.getAsBoolean()) {
			throw new InterruptedException(this.name + " cancelled");
		}
	}

	/**
	 * Takes the next batch with a chunk to visit and asks the secondary for the hashes of
	 * its chunks that need one, or returns null past the last chunk.
	 */
	private @Nullable HashBatch requestBatch(AtomicLong nextBatch, long chunks) {
		while (true) {
			long first = nextBatch.getAndIncrement() * BATCH;
			if (first >= chunks) {
				return null;
			}
			int count = (int) Math.min(BATCH, chunks - first);
			boolean visits = false;
			int low = -1;
			int high = -1;
			for (int i = 0; i < count; i++) {
				visits |= this.plan.visits(first + i);
				if (this.plan.needsHash(first + i)) {
					low = (low < 0) ? i : low;
					high = i;
				}
			}
			if (!visits) {
				continue;
			}
			ByteBuffer hashes = ByteBuffer.allocate(count * HASH_SIZE);
			CompletableFuture<Void> reply = (low < 0) ? CompletableFuture.completedFuture(null) : this.remoteHashes
				.read((first + low) * HASH_SIZE, hashes.slice(low * HASH_SIZE, (high - low + 1) * HASH_SIZE));
			return new HashBatch(first, count, hashes, reply);
		}
	}

	private static void rethrow(@Nullable Throwable ex) throws IOException, InterruptedException {
		if (ex instanceof InterruptedException interrupted) {
			throw interrupted;
		}
		if (ex instanceof IOException io) {
			throw io;
		}
		if (ex instanceof RuntimeException runtime) {
			throw runtime;
		}
		if (ex instanceof Error error) {
			throw error;
		}
		if (ex != null) {
			throw new IOException(ex);
		}
	}

	static void joinUninterruptibly(Thread thread) {
		boolean interrupted = false;
		while (true) {
			try {
				thread.join();
				break;
			}
			catch (InterruptedException ex) {
				interrupted = true;
			}
		}
		if (interrupted) {
			Thread.currentThread().interrupt();
		}
	}

	/** What the walk does with each chunk, under the chunk's lock or not as it needs. */
	@FunctionalInterface
	interface Visitor {

		/**
		 * Looks at one chunk.
		 * @param chunk the local chunk, positioned but not yet read
		 * @param remoteHash the secondary's hash of it, asked for before this call
		 */
		void visit(LocalChunk chunk, byte[] remoteHash) throws IOException;

	}

	/**
	 * The secondary's hashes of {@code count} chunks from {@code first}, once
	 * {@code reply} completes.
	 */
	private record HashBatch(long first, int count, ByteBuffer hashes, CompletableFuture<Void> reply) {
	}

}
