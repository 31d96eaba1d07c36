package dev.lockstep.block.replicated.primary;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.locks.Lock;
import java.util.function.LongConsumer;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.overlay.Stripes;
import dev.lockstep.block.replicated.lineage.DiskLineage;
import dev.lockstep.block.replicated.protocol.PeerProtocol;
import dev.lockstep.block.layer.FaultClass;
import dev.lockstep.block.layer.Faults;
import dev.lockstep.block.layer.IoAction;

import static dev.lockstep.block.replicated.protocol.PeerProtocol.CHUNK_SHIFT;

/**
 * The primary side of block replication for one disk. Every write, write-zeroes and trim
 * is applied to the local image and, at the same time, forwarded to the secondary's
 * {@code <disk>.replica} export; the call returns only when both are done (DRBD's
 * protocol C). Reads are local.
 *
 * <p>
 * Trims are applied as write-zeroes that may deallocate, on both sides, so that the two
 * disks stay byte-identical.
 *
 * <p>
 * When forwarding fails the local write still succeeds: the fault is recorded, forwarding
 * stops for good, and every chunk written from then on is marked in the dirty bitmap for
 * the next resynchronisation. The first such write starts a new generation of the disk's
 * lineage ({@link DiskLineage#diverged}) before it is acknowledged.
 *
 * <p>
 * While a resynchronisation runs ({@link #syncLock(long)}), writes take a shared lock on
 * each chunk they touch, so that the copy of a chunk and a forwarded write to it never
 * interleave.
 */
public final class PrimaryDevice implements BlockDevice {

	private final String disk;

	private final BlockDevice local;

	private final RemoteDisk remote;

	private final DiskLineage lineage;

	private final Faults faults;

	private final String peer;

	private final Stripes chunkLocks = new Stripes();

	/**
	 * Serialises forwarded writes to overlapping regions (64 KiB units), so that both
	 * sides apply them in the same order: two concurrent writes to one block could
	 * otherwise land in one order locally and in the other on the secondary.
	 */
	private final RegionLocks writeOrder = new RegionLocks();

	private final Duration forwardTimeout;

	/** Receives the nanoseconds each forwarded write took until the secondary's reply. */
	private final LongConsumer forwardedNanos;

	private volatile boolean forwarding = true;

	private volatile boolean syncing;

	public PrimaryDevice(String disk, BlockDevice local, RemoteDisk remote, String peer, DiskLineage lineage,
			Faults faults, Duration forwardTimeout) {
		this(disk, local, remote, peer, lineage, faults, forwardTimeout, (nanos) -> {
		});
	}

	/**
	 * Creates the forwarding device; {@code forwardedNanos} receives, for each write,
	 * write-zeroes or trim that the secondary acknowledged, the nanoseconds from sending
	 * it to the secondary's reply.
	 */
	public PrimaryDevice(String disk, BlockDevice local, RemoteDisk remote, String peer, DiskLineage lineage,
			Faults faults, Duration forwardTimeout, LongConsumer forwardedNanos) {
		this.disk = disk;
		this.forwardedNanos = forwardedNanos;
		this.forwardTimeout = forwardTimeout;
		this.local = local;
		this.remote = remote;
		this.peer = peer;
		this.lineage = lineage;
		this.faults = faults;
	}

	public boolean forwarding() {
		return this.forwarding;
	}

	Duration forwardTimeout() {
		return this.forwardTimeout;
	}

	public RemoteDisk remote() {
		return this.remote;
	}

	BlockDevice local() {
		return this.local;
	}

	/** Makes writes take per-chunk locks, for the duration of a resynchronisation. */
	public void syncing(boolean syncing) {
		this.syncing = syncing;
	}

	/**
	 * Returns the exclusive lock of a chunk, which the resynchronisation holds while it
	 * copies it.
	 */
	Lock syncLock(long chunk) {
		return this.chunkLocks.of(chunk).writeLock();
	}

	/** Stops forwarding: from now on every write is only marked dirty. */
	public void stopForwarding() {
		this.forwarding = false;
	}

	/**
	 * Records a forwarding failure and stops forwarding. The first failure is the one
	 * reported.
	 */
	public void fail(Throwable cause) {
		this.forwarding = false;
		this.faults.record(FaultClass.FORWARDING, this.peer + ": " + Faults.describe(unwrap(cause))
				+ "; forwarding stopped, changes are tracked for resync");
	}

	@Override
	public long size() {
		return this.local.size();
	}

	@Override
	public boolean readOnly() {
		return this.local.readOnly();
	}

	@Override
	public void read(long offset, ByteBuffer dst) throws IOException {
		this.local.read(offset, dst);
	}

	@Override
	public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
		int length = src.remaining();
		ByteBuffer forwarded = src.duplicate();
		replicate(offset, length, () -> this.local.write(offset, src, fua),
				() -> this.remote.write(offset, forwarded, fua));
	}

	@Override
	public void writeZeroes(long offset, long length, boolean mayTrim, boolean fua) throws IOException {
		replicate(offset, length, () -> this.local.writeZeroes(offset, length, mayTrim, fua),
				() -> this.remote.writeZeroes(offset, length, mayTrim, fua));
	}

	@Override
	public void trim(long offset, long length, boolean fua) throws IOException {
		writeZeroes(offset, length, true, fua);
	}

	private void replicate(long offset, long length, IoAction localAction, RemoteAction remoteAction)
			throws IOException {
		if (!this.syncing) {
			replicateUnlocked(offset, length, localAction, remoteAction);
			return;
		}
		long first = offset >>> CHUNK_SHIFT;
		long last = (offset + Math.max(length, 1) - 1) >>> CHUNK_SHIFT;
		// Shared locks, one chunk at a time would let a copy slip between two chunks of
		// one write, which is harmless: each chunk is consistent.
		Lock[] locks = new Lock[(int) (last - first + 1)];
		int held = 0;
		try {
			for (long chunk = first; chunk <= last; chunk++) {
				Lock lock = this.chunkLocks.of(chunk).readLock();
				lock.lock();
				locks[held++] = lock;
			}
			replicateUnlocked(offset, length, localAction, remoteAction);
		}
		finally {
			for (int i = held - 1; i >= 0; i--) {
				locks[i].unlock();
			}
		}
	}

	private void replicateUnlocked(long offset, long length, IoAction localAction, RemoteAction remoteAction)
			throws IOException {
		if (!this.forwarding) {
			this.lineage.diverged(offset, length);
			localAction.run();
			return;
		}
		long first = offset >>> ORDER_SHIFT;
		long last = (offset + Math.max(length, 1) - 1) >>> ORDER_SHIFT;
		try (Stripes.Held ordered = this.writeOrder.lock(first, last)) {
			replicateOrdered(offset, length, localAction, remoteAction);
		}
	}

	private static final int ORDER_SHIFT = 16;

	private void replicateOrdered(long offset, long length, IoAction localAction, RemoteAction remoteAction)
			throws IOException {
		CompletableFuture<Void> forwarded;
		long sent = System.nanoTime();
		try {
			forwarded = remoteAction.send();
		}
		catch (RuntimeException ex) {
			forwarded = CompletableFuture.failedFuture(ex);
		}
		IOException localFailure = null;
		try {
			localAction.run();
		}
		catch (IOException ex) {
			localFailure = ex;
		}
		try {
			// A reply that does not come in time aborts the connection, which fails the
			// other requests in flight too rather than let each wait for its own.
			this.remote.await(forwarded, forwardTimeout());
			this.forwardedNanos.accept(System.nanoTime() - sent);
		}
		catch (IOException ex) {
			fail(ex);
			if (localFailure == null) {
				// Acknowledged here only: durably a change the secondary does not have.
				this.lineage.diverged(offset, length);
			}
		}
		if (localFailure != null) {
			// The secondary may hold data the primary could not store; compare it again
			// later. The write fails, so nothing diverged that a client relies on.
			this.lineage.dirty().mark(offset, length);
			throw localFailure;
		}
	}

	@Override
	public void flush() throws IOException {
		if (!this.forwarding) {
			this.local.flush();
			return;
		}
		CompletableFuture<Void> forwarded = this.remote.flush();
		this.local.flush();
		try {
			this.remote.await(forwarded, forwardTimeout());
		}
		catch (IOException ex) {
			fail(ex);
		}
	}

	/**
	 * Checks that the secondary still answers, so that a peer that died while the disk
	 * was idle is reported by {@code error()} before the next write or checkpoint finds
	 * out: reads a few bytes of the replica export and waits at most the forwarding
	 * timeout. A failure is a forwarding fault, as for a write. Does nothing once
	 * forwarding has stopped. The probe travels on the replica connection, so it is also
	 * the keepalive by which an idle primary stays heard: a secondary that hears nothing
	 * for the probe interval plus the forwarding timeout reports its primary lost.
	 */
	public void probe() {
		if (!this.forwarding) {
			return;
		}
		try {
			ByteBuffer probe = ByteBuffer.allocate((int) Math.min(PeerProtocol.PROBE_SIZE, this.remote.size()));
			this.remote.await(this.remote.read(0, probe), forwardTimeout());
		}
		catch (IOException ex) {
			if (this.forwarding) {
				fail(ex);
			}
		}
	}

	/**
	 * Flushes both sides for a checkpoint. The caller has drained every write in flight.
	 * Fails if forwarding has stopped, because the secondary then no longer holds what
	 * the primary acknowledged.
	 */
	public void checkpoint() throws IOException {
		if (!this.forwarding) {
			throw new IOException("Cannot checkpoint disk '" + this.disk + "': "
					+ this.faults.get(FaultClass.FORWARDING)
						.map((fault) -> "secondary unreachable since " + fault.since() + ": " + fault.detail())
						.orElse("forwarding to " + this.peer + " has stopped"));
		}
		try {
			this.remote.await(this.remote.flush(), forwardTimeout());
		}
		catch (IOException ex) {
			fail(ex);
			throw new IOException("Cannot checkpoint disk '" + this.disk + "': flush on secondary " + this.peer
					+ " failed: " + Faults.describe(ex), ex);
		}
		this.local.flush();
	}

	@Override
	public List<Extent> allocation(long offset, long length) throws IOException {
		return this.local.allocation(offset, length);
	}

	/** Closes the connection to the secondary; the local image stays open. */
	@Override
	public void close() {
		this.forwarding = false;
		closeInBackground(this.remote);
	}

	/**
	 * Closes a connection to the peer without waiting: closing waits for the requests in
	 * flight, and a peer that stopped answering must not hold up a client's write or a
	 * lifecycle call.
	 */
	public static void closeInBackground(RemoteDisk remote) {
		Thread closer = new Thread(remote::close, "lockstep-peer-close");
		closer.setDaemon(true);
		closer.start();
	}

	private static Throwable unwrap(Throwable ex) {
		while ((ex instanceof CompletionException || ex instanceof ExecutionException) && ex.getCause() != null) {
			ex = ex.getCause();
		}
		return ex;
	}

	@FunctionalInterface
	interface RemoteAction {

		CompletableFuture<Void> send();

	}

}
