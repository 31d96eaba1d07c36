package dev.lockstep.block.replicated.primary;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.concurrent.locks.Lock;

import org.jspecify.annotations.Nullable;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.replicated.protocol.ChunkHashing;
import dev.lockstep.block.replicated.protocol.PeerProtocol;

import static dev.lockstep.block.replicated.protocol.PeerProtocol.CHUNK_SIZE;
import static dev.lockstep.block.replicated.protocol.PeerProtocol.HASH_SIZE;

/**
 * Makes the secondary's disk identical to the primary's, chunk by chunk. Chunks in the
 * dirty bitmap are copied outright; every other chunk is compared by its SHA-256 hash,
 * read from the secondary's {@code <disk>.replica.sha256} export, and copied only if it
 * differs. Forwarding is already on while this runs, and each chunk is compared and
 * copied under its chunk lock, so writes that arrive meanwhile can never be overtaken by
 * a stale copy.
 */
public final class Resync {

	private static final Log logger = LogFactory.getLog(Resync.class);

	/** Hashes asked for per request: 32 chunks, 1 KiB of hashes. */
	private static final int BATCH = 32;

	private final String disk;

	private final PrimaryDevice primary;

	private final RemoteDisk remoteHashes;

	private final DirtyChunks dirty;

	private final SyncProgress progress;

	private final long logIntervalNanos;

	private final BooleanSupplier cancelled;

	public Resync(String disk, PrimaryDevice primary, RemoteDisk remoteHashes, DirtyChunks dirty, SyncProgress progress,
			long logIntervalNanos, BooleanSupplier cancelled) {
		this.cancelled = cancelled;
		this.disk = disk;
		this.primary = primary;
		this.remoteHashes = remoteHashes;
		this.dirty = dirty;
		this.progress = progress;
		this.logIntervalNanos = logIntervalNanos;
	}

	/**
	 * Runs the resynchronisation to its end; throws on the first failure, or
	 * {@link InterruptedException} once cancelled. Runs on the calling thread and one
	 * more, neither of which may be interrupted (file channels close on interrupt).
	 */
	public void run() throws IOException, InterruptedException {
		BlockDevice local = this.primary.local();
		RemoteDisk remote = this.primary.remote();
		long size = local.size();
		long chunks = PeerProtocol.chunkCount(size);
		this.progress.begin(size);
		AtomicLong nextBatch = new AtomicLong();
		long[] lastLog = { System.nanoTime() };
		int workers = 2;
		Thread[] threads = new Thread[workers - 1];
		Throwable[] failure = new Throwable[1];
		Runnable work = () -> {
			try {
				MessageDigest digest = ChunkHashing.sha256();
				ByteBuffer buffer = ByteBuffer.allocateDirect(CHUNK_SIZE);
				// The next batch's hashes are asked for before this batch is hashed here,
				// so that the secondary hashes its chunks while the primary hashes its
				// own.
				HashBatch current = requestBatch(nextBatch.getAndIncrement(), chunks);
				while (current != null) {
					synchronized (failure) {
						if (failure[0] != null) {
							return;
						}
					}
					if (this.cancelled.getAsBoolean()) {
						throw new InterruptedException("Synchronisation of disk '" + this.disk + "' cancelled");
					}
					HashBatch next = requestBatch(nextBatch.getAndIncrement(), chunks);
					this.remoteHashes.await(current.reply(), this.primary.forwardTimeout());
					for (int i = 0; i < current.count(); i++) {
						if (this.cancelled.getAsBoolean()) {
							throw new InterruptedException("Synchronisation of disk '" + this.disk + "' cancelled");
						}
						long chunk = current.first() + i;
						byte[] remoteHash = Arrays.copyOfRange(current.hashes().array(), i * HASH_SIZE,
								(i + 1) * HASH_SIZE);
						syncChunk(local, remote, chunk, remoteHash, buffer, digest);
					}
					maybeLog(lastLog);
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
		for (int i = 0; i < threads.length; i++) {
			threads[i] = new Thread(work, "lockstep-resync-" + this.disk + "-" + i);
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
		this.progress.end();
		Throwable ex = failure[0];
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
		logger
			.info(String.format("Disk '%s': synchronised with the secondary: %s", this.disk, this.progress.snapshot()));
	}

	/**
	 * Asks the secondary for the hashes of a batch of chunks, or returns null past the
	 * last chunk.
	 */
	private @Nullable HashBatch requestBatch(long batch, long chunks) {
		long first = batch * BATCH;
		if (first >= chunks) {
			return null;
		}
		int count = (int) Math.min(BATCH, chunks - first);
		ByteBuffer hashes = ByteBuffer.allocate(count * HASH_SIZE);
		return new HashBatch(first, count, hashes, this.remoteHashes.read(first * HASH_SIZE, hashes));
	}

	/**
	 * The secondary's hashes of {@code count} chunks from {@code first}, once
	 * {@code reply} completes.
	 */
	private record HashBatch(long first, int count, ByteBuffer hashes, CompletableFuture<Void> reply) {
	}

	private static void joinUninterruptibly(Thread thread) {
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

	private void syncChunk(BlockDevice local, RemoteDisk remote, long chunk, byte[] remoteHash, ByteBuffer buffer,
			MessageDigest digest) throws IOException {
		long start = chunk * CHUNK_SIZE;
		int length = (int) Math.min(CHUNK_SIZE, local.size() - start);
		Lock lock = this.primary.syncLock(chunk);
		lock.lock();
		try {
			boolean wasDirty = this.dirty.isDirty(chunk);
			if (!wasDirty && ChunkHashing.readsAsZero(local, start, length)) {
				// A hole needs no read: compare with the hash of zeroes, and send zeroes
				// if needed.
				if (!Arrays.equals(ChunkHashing.zeroHash(length), remoteHash)) {
					remote.await(remote.writeZeroes(start, length, true, false), this.primary.forwardTimeout());
					this.progress.copied(length);
				}
			}
			else {
				buffer.clear().limit(length);
				local.read(start, buffer);
				buffer.flip();
				boolean differs = wasDirty || !Arrays.equals(ChunkHashing.hash(buffer, digest), remoteHash);
				if (differs) {
					remote.await(remote.write(start, buffer.duplicate(), false), this.primary.forwardTimeout());
					this.progress.copied(length);
				}
			}
			this.dirty.clear(chunk);
			this.progress.compared(length);
		}
		finally {
			lock.unlock();
		}
	}

	private void maybeLog(long[] lastLog) {
		long now = System.nanoTime();
		synchronized (lastLog) {
			if (now - lastLog[0] < this.logIntervalNanos) {
				return;
			}
			lastLog[0] = now;
		}
		logger.info(
				String.format("Disk '%s': synchronising with the secondary: %s", this.disk, this.progress.snapshot()));
	}

}
