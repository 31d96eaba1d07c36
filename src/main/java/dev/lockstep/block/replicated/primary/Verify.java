package dev.lockstep.block.replicated.primary;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Lock;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import dev.lockstep.block.replicated.lineage.DirtyChunks;
import dev.lockstep.block.layer.Faults;
import dev.lockstep.block.layer.SwitchingDevice;

/**
 * An online verify of one primary disk, on a thread of its own while clients write:
 * compares every chunk with the secondary's by hash ({@link ChunkWalk}), marks each chunk
 * that differs in the dirty bitmap for the next synchronisation, and, with
 * {@code repair}, copies it to the secondary as a synchronisation does.
 *
 * <p>
 * No write can make a false mismatch: while the verify runs, writes take the chunk locks
 * ({@link PrimaryDevice#syncing(boolean)}), and a chunk whose hash differs from the one
 * the walk asked for ahead is only counted once the secondary's hash, asked for again
 * under the chunk's lock, differs too. Under the lock no write to the chunk is in flight,
 * so both hashes are of the same data.
 *
 * <p>
 * It reads the secondary's hashes from the verify export ({@code PeerProtocol}), which,
 * unlike the hash export of a synchronisation, changes nothing on the secondary: a
 * {@code colo} secondary goes on taking checkpoints while a verify runs.
 */
public final class Verify {

	/** How many mismatching chunks' offsets the status and the log show. */
	static final int OFFSETS_SHOWN = 16;

	/** The shortest wait for a batch of the secondary's hashes. */
	private static final Duration MIN_BATCH_TIMEOUT = Duration.ofSeconds(30);

	private static final Log logger = LogFactory.getLog(Verify.class);

	private enum State {

		RUNNING, COMPLETED, CANCELLED, FAILED

	}

	private final String disk;

	private final PrimaryDevice primary;

	private final SwitchingDevice device;

	private final Connector hashes;

	private final DirtyChunks dirty;

	private final boolean repair;

	private final long totalBytes;

	private final ProgressLog log;

	private final AtomicLong compared = new AtomicLong();

	private final AtomicLong mismatched = new AtomicLong();

	private final AtomicLong repaired = new AtomicLong();

	private final List<Long> offsets = new ArrayList<>();

	private final Instant startedAt = Instant.now();

	private final long startedNanos = System.nanoTime();

	private final Thread thread;

	private volatile long endedNanos;

	private volatile @Nullable Instant finishedAt;

	private volatile State state = State.RUNNING;

	private volatile @Nullable String error;

	private volatile @Nullable String cancelled;

	private Verify(String disk, PrimaryDevice primary, SwitchingDevice device, Connector hashes, DirtyChunks dirty,
			boolean repair, long logIntervalNanos) {
		this.disk = disk;
		this.primary = primary;
		this.device = device;
		this.hashes = hashes;
		this.dirty = dirty;
		this.repair = repair;
		this.totalBytes = primary.local().size();
		this.log = new ProgressLog(logIntervalNanos,
				() -> logger.info(String.format("Disk '%s': verifying: %s", disk, status())));
		this.thread = new Thread(this::run, "lockstep-verify-" + disk);
		this.thread.setDaemon(true);
	}

	/**
	 * Starts a verify of a primary disk in the background.
	 * @param disk the disk's name
	 * @param primary its forwarding device, forwarding
	 * @param device the device its export serves, through which writes in flight are
	 * drained before the verify begins
	 * @param hashes connects to the secondary's hash export
	 * @param dirty the disk's dirty bitmap
	 * @param repair whether to copy mismatching chunks to the secondary
	 * @param logIntervalNanos how often to log progress
	 * @return the running verify
	 */
	public static Verify start(String disk, PrimaryDevice primary, SwitchingDevice device, Connector hashes,
			DirtyChunks dirty, boolean repair, long logIntervalNanos) {
		Verify verify = new Verify(disk, primary, device, hashes, dirty, repair, logIntervalNanos);
		verify.thread.start();
		return verify;
	}

	public boolean running() {
		return this.state == State.RUNNING;
	}

	/**
	 * Cancels the verify between two chunks and waits until it has ended; returns at once
	 * if it has already.
	 * @param why the reason its status gives
	 */
	public void cancel(String why) {
		this.cancelled = why;
		ChunkWalk.joinUninterruptibly(this.thread);
	}

	private void run() {
		logger.info(String.format("Disk '%s': verify against the secondary started%s", this.disk,
				this.repair ? ", repairing mismatches" : ""));
		RemoteDisk remote = null;
		try {
			remote = this.hashes.connect();
			RemoteDisk connected = remote;
			// Writes already in flight took no chunk lock: drained, so that every write
			// from now on does.
			this.device.exclusive(() -> this.primary.syncing(true));
			try {
				ChunkWalk walk = new ChunkWalk("Verify of disk '" + this.disk + "'", "lockstep-verify-" + this.disk,
						this.primary, connected, () -> this.cancelled != null, this.log::maybeLog)
					.batchTimeout(batchTimeout());
				walk.run((chunk, remoteHash) -> verifyChunk(walk, chunk, remoteHash));
			}
			finally {
				this.primary.syncing(false);
			}
			if (!this.primary.forwarding()) {
				throw new IOException("forwarding to the secondary stopped while the verify ran");
			}
			end(State.COMPLETED, null);
		}
		catch (InterruptedException ex) {
			end(State.CANCELLED, "cancelled: " + this.cancelled);
		}
		catch (Exception | Error ex) {
			end(State.FAILED, Faults.describe(ex));
		}
		finally {
			if (remote != null) {
				PrimaryDevice.closeInBackground(remote);
			}
		}
	}

	/**
	 * A verify competes with the workload's writes on the secondary, which hashes a batch
	 * of chunks while it applies them; a slow batch fails nothing but the verify, so it
	 * is waited for longer than a forwarded write.
	 */
	private Duration batchTimeout() {
		Duration forward = this.primary.forwardTimeout();
		return (forward.compareTo(MIN_BATCH_TIMEOUT) > 0) ? forward : MIN_BATCH_TIMEOUT;
	}

	private void verifyChunk(ChunkWalk walk, LocalChunk chunk, byte[] remoteHash) throws IOException {
		Lock lock = chunk.lock();
		lock.lock();
		try {
			// The hash asked for ahead may predate a write to the chunk: a difference
			// counts only if the hash asked for now, under the lock, differs too.
			if (!chunk.matches(remoteHash) && !chunk.matches(walk.remoteHash(chunk.index()))) {
				mismatch(chunk);
			}
			this.compared.addAndGet(chunk.length());
		}
		finally {
			lock.unlock();
		}
	}

	private void mismatch(LocalChunk chunk) throws IOException {
		this.dirty.mark(chunk.offset(), chunk.length());
		this.mismatched.incrementAndGet();
		synchronized (this.offsets) {
			this.offsets.add(chunk.offset());
			this.offsets.sort(null);
			if (this.offsets.size() > OFFSETS_SHOWN) {
				this.offsets.remove(OFFSETS_SHOWN);
			}
		}
		if (this.repair) {
			chunk.copyToSecondary();
			this.dirty.clear(chunk.index());
			this.repaired.incrementAndGet();
		}
	}

	private void end(State end, @Nullable String why) {
		this.endedNanos = System.nanoTime();
		this.finishedAt = Instant.now();
		this.error = why;
		this.state = end;
		VerifyStatus status = status();
		String summary = String.format("Disk '%s': verify %s: %s", this.disk, status.state(), status)
				+ ((why != null) ? "; " + why : "");
		if (end == State.COMPLETED && status.mismatchedChunks() == 0) {
			logger.info(summary);
		}
		else {
			logger.warn(summary + ((status.mismatchedChunks() > status.repairedChunks())
					? "; the mismatching chunks are marked for the next synchronisation" : ""));
		}
	}

	public VerifyStatus status() {
		State current = this.state;
		long ended = this.endedNanos;
		long elapsed = ((ended != 0) ? ended : System.nanoTime()) - this.startedNanos;
		long bytes = this.compared.get();
		List<Long> shown;
		synchronized (this.offsets) {
			shown = List.copyOf(this.offsets);
		}
		return new VerifyStatus(current.name().toLowerCase(Locale.ROOT), current == State.RUNNING, this.repair,
				this.totalBytes, bytes, this.mismatched.get(), shown, this.repaired.get(),
				(elapsed > 0) ? (long) (bytes * 1e9 / elapsed) : 0, this.startedAt, this.finishedAt, this.error);
	}

	/** Opens a connection to the secondary's hash export. */
	@FunctionalInterface
	public interface Connector {

		RemoteDisk connect() throws IOException;

	}

}
