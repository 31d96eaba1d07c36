package dev.lockstep.block.pair.secondary;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.Export;
import dev.lockstep.block.file.FileBlockDevice;
import dev.lockstep.block.overlay.ClusterOverlay;
import dev.lockstep.block.overlay.OverlayDevice;
import dev.lockstep.block.overlay.Stripes;
import dev.lockstep.block.pair.protocol.PeerProtocol;
import dev.lockstep.block.pair.protocol.PeerProtocol.Departure;
import dev.lockstep.block.layer.FaultClass;
import dev.lockstep.block.layer.Faults;
import dev.lockstep.block.layer.GatedDevice;
import dev.lockstep.block.layer.RecordedIOException;

import static dev.lockstep.block.overlay.ClusterOverlay.CLUSTER_SHIFT;
import static dev.lockstep.block.overlay.ClusterOverlay.CLUSTER_SIZE;

/**
 * The secondary side of COLO block replication for one disk: the base image, the hidden
 * overlay that keeps the base's contents as of the last checkpoint, and the active
 * overlay that buffers the secondary workload's own writes.
 *
 * <pre>
 *   workload view ── active ──▶ hidden ──▶ base ◀── replica view (primary's writes)
 *                                  ▲                      │
 *                                  └── copy-before-write ─┘
 * </pre>
 * <ul>
 * <li>{@link #replica()} takes the primary's writes into the base. Before a base cluster
 * is first overwritten after a checkpoint its old contents are copied into the hidden
 * overlay; a cluster already saved is never saved again.</li>
 * <li>{@link #workload()} reads the active overlay, then the hidden one, then the base,
 * and writes into the active overlay. A workload read never sees a base cluster half-way
 * through a copy-before-write: both take the cluster's lock.</li>
 * <li>{@link #checkpoint()} empties both overlays, {@link #commit()} writes hidden and
 * then active into the base and flushes it (failover), and {@link #close()} drops the
 * overlays.</li>
 * </ul>
 * Checkpoint, commit and close wait for every request in flight on either view and hold
 * new ones back until they are done.
 */
public final class SecondaryStack implements Closeable {

	private final String disk;

	private final BlockDevice base;

	private final ClusterOverlay hidden;

	private final ClusterOverlay active;

	private final OverlayDevice activeDevice;

	private final Stripes stripes = new Stripes();

	private final ReentrantReadWriteLock barrier = new ReentrantReadWriteLock();

	private final Faults faults;

	private final BlockDevice workload;

	private final ReplicaView replica;

	private volatile boolean replicaClosed;

	/** When a connection of the primary to the replica export broke, or null. */
	private volatile Instant primaryLost;

	/** When a primary started a synchronisation that has not completed, or null. */
	private volatile Instant synchronisingSince;

	/**
	 * How to disconnect each open connection to the replica export, by the order in which
	 * they arrived.
	 */
	private final ConcurrentSkipListMap<Long, Runnable> replicaConnections = new ConcurrentSkipListMap<>();

	private final AtomicLong arrivals = new AtomicLong();

	/** Orders breaks against the start and the completion of a synchronisation. */
	private final Object primaryEvents = new Object();

	/** Counts the breaks of the primary's connections. */
	private long breaks;

	/** The count of breaks when the latest synchronisation started. */
	private long breaksBeforeSynchronisation;

	private volatile boolean closed;

	public SecondaryStack(String disk, BlockDevice base, Path hiddenFile, Path activeFile, Faults faults)
			throws IOException {
		this.disk = disk;
		this.base = base;
		this.faults = faults;
		this.hidden = new ClusterOverlay(hiddenFile, base.size());
		try {
			this.active = new ClusterOverlay(activeFile, base.size());
		}
		catch (IOException ex) {
			this.hidden.close();
			throw ex;
		}
		this.activeDevice = new OverlayDevice(this.active, new HiddenView());
		this.workload = new WorkloadView();
		this.replica = new ReplicaView();
	}

	/** The secondary workload's view of the disk. */
	public BlockDevice workload() {
		return this.workload;
	}

	/**
	 * Follows the primary's connections to the replica export. One that ends without a
	 * clean disconnect (the primary died, or gave up on this node) may leave the base
	 * with writes of the primary after its last checkpoint, in any subset of those in
	 * flight; checkpoints are refused until a primary has completed a synchronisation
	 * ({@link #synchronised()}). A new connection alone does not lift the refusal.
	 */
	public Export.ClientListener primaryConnections() {
		return (disconnect) -> {
			long arrival = this.arrivals.incrementAndGet();
			this.replicaConnections.put(arrival, disconnect);
			return (clean) -> {
				this.replicaConnections.remove(arrival);
				if (PeerProtocol.departure(clean) == Departure.LOSS && !this.replicaClosed) {
					synchronized (this.primaryEvents) {
						this.breaks++;
						this.primaryLost = Instant.now();
					}
				}
			};
		};
	}

	/**
	 * Follows the primary's synchronisations, which read the hash export: from the moment
	 * one starts until it completes ({@link #synchronised()}), the base is partly this
	 * node's old data and partly the primary's, so checkpoints are refused. A
	 * synchronisation that ends without completing leaves them refused.
	 *
	 * <p>
	 * A synchronisation starting also closes every connection to the replica export but
	 * the newest, which is the synchronising primary's (it connects there first): an
	 * older one is left over from before, such as a half-open connection of a primary cut
	 * off by a partition, which TCP keepalive would otherwise end hours later and so
	 * refuse the checkpoints of a healthy pair. Closed now, it ends before the
	 * synchronisation completes. Should the newest be another client's, the primary's
	 * connection is closed, and its start fails.
	 */
	public Export.ClientListener synchronisations() {
		return (disconnect) -> {
			// Closed first, so that their breaks come before the synchronisation that
			// lifts them.
			Map.Entry<Long, Runnable> newest = this.replicaConnections.lastEntry();
			if (newest != null) {
				List.copyOf(this.replicaConnections.headMap(newest.getKey()).values()).forEach(Runnable::run);
			}
			synchronized (this.primaryEvents) {
				this.breaksBeforeSynchronisation = this.breaks;
				this.synchronisingSince = Instant.now();
			}
			return (clean) -> {
			};
		};
	}

	/**
	 * The primary has completed a synchronisation: the base equals its disk, plus the
	 * writes it forwards. Lifts the refusals that the synchronisation's start and a
	 * broken connection before that start set; a break since then (the primary died right
	 * after its synchronisation) still counts.
	 */
	public void synchronised() {
		synchronized (this.primaryEvents) {
			this.synchronisingSince = null;
			if (this.breaks == this.breaksBeforeSynchronisation) {
				this.primaryLost = null;
			}
		}
	}

	/** The device behind the {@code <disk>.replica} export. */
	public BlockDevice replica() {
		return this.replica;
	}

	public ClusterOverlay hiddenOverlay() {
		return this.hidden;
	}

	public ClusterOverlay activeOverlay() {
		return this.active;
	}

	/** Stops accepting the primary's writes; waits for those in flight. */
	public void closeReplica() {
		this.barrier.writeLock().lock();
		try {
			this.replicaClosed = true;
		}
		finally {
			this.barrier.writeLock().unlock();
		}
	}

	/** What a refused checkpoint leaves for the operator. */
	private static final String OVERLAYS_KEPT = "The overlays are kept, so a failover still returns to the last "
			+ "checkpoint";

	/**
	 * Empties the active and hidden overlays: the workload's view becomes the base.
	 * Refused, with the overlays kept, once a write of the primary could not be applied
	 * to the base since replication started.
	 */
	public void checkpoint() throws IOException {
		this.barrier.writeLock().lock();
		try {
			checkOpen();
			this.replica.requireAllUpdatesApplied(this.disk, OVERLAYS_KEPT);
			Instant synchronising = this.synchronisingSince;
			if (synchronising != null) {
				throw new IOException("Cannot checkpoint disk '" + this.disk + "': the primary started synchronising "
						+ "the disks at " + synchronising + " and has not completed, so the base is partly this node's "
						+ "data and partly the primary's. " + OVERLAYS_KEPT + "; checkpoints are accepted once the "
						+ "primary's start has returned");
			}
			Instant lost = this.primaryLost;
			if (lost != null) {
				throw new IOException("Cannot checkpoint disk '" + this.disk + "': the primary's connection broke at "
						+ lost + " without a clean disconnect, so the base may hold writes made after the primary's "
						+ "last checkpoint. " + OVERLAYS_KEPT + "; to replicate again, start the primary again: "
						+ "checkpoints are accepted once its synchronisation of the disks has completed");
			}
			try {
				this.active.makeEmpty();
				this.hidden.makeEmpty();
			}
			catch (IOException | RuntimeException ex) {
				this.faults.record(FaultClass.MAKE_EMPTY, Faults.describe(ex));
				throw new IOException(
						"Could not empty the overlays of disk '" + this.disk + "': " + Faults.describe(ex), ex);
			}
		}
		finally {
			this.barrier.writeLock().unlock();
		}
	}

	/**
	 * Failover: stops accepting the primary's writes, writes the hidden overlay and then
	 * the active one into the base, flushes the base and empties the overlays. If this
	 * fails the overlays are kept, the workload's view is unchanged, and the commit can
	 * be retried.
	 */
	public void commit() throws IOException {
		this.barrier.writeLock().lock();
		try {
			checkOpen();
			this.replicaClosed = true;
			try {
				commitOverlay(this.hidden, this.active);
				commitOverlay(this.active, null);
				this.base.flush();
			}
			catch (IOException | RuntimeException ex) {
				this.faults.record(FaultClass.COMMIT, Faults.describe(ex));
				throw new IOException("Could not commit the overlays of disk '" + this.disk + "' into its base image: "
						+ Faults.describe(ex), ex);
			}
			try {
				this.active.makeEmpty();
				this.hidden.makeEmpty();
			}
			catch (IOException ex) {
				// The base is complete and durable; stale overlays are dropped on close.
				this.faults.record(FaultClass.MAKE_EMPTY, Faults.describe(ex));
			}
		}
		finally {
			this.barrier.writeLock().unlock();
		}
	}

	private void commitOverlay(ClusterOverlay overlay, ClusterOverlay skip) throws IOException {
		long[] clusters = overlay.sortedClusters();
		int maxRun = 16;
		ByteBuffer buffer = ByteBuffer.allocateDirect(maxRun * CLUSTER_SIZE);
		int i = 0;
		while (i < clusters.length) {
			if (skip != null && skip.contains(clusters[i])) {
				i++;
				continue;
			}
			long first = clusters[i];
			buffer.clear();
			int run = 0;
			while (i < clusters.length && run < maxRun && clusters[i] == first + run
					&& (skip == null || !skip.contains(clusters[i]))) {
				ByteBuffer part = buffer.duplicate();
				part.limit(part.position() + overlay.clusterLength(clusters[i]));
				if (!overlay.read(clusters[i], 0, part)) {
					throw new IllegalStateException("Cluster " + clusters[i] + " vanished from " + overlay.file());
				}
				buffer.position(part.position());
				run++;
				i++;
			}
			buffer.flip();
			this.base.write(first << CLUSTER_SHIFT, buffer, false);
		}
	}

	/** Drops the overlays (planned stop) and deletes their files. */
	@Override
	public void close() throws IOException {
		this.barrier.writeLock().lock();
		try {
			if (this.closed) {
				return;
			}
			this.closed = true;
			this.replicaClosed = true;
			try {
				this.active.close();
			}
			finally {
				this.hidden.close();
			}
		}
		finally {
			this.barrier.writeLock().unlock();
		}
	}

	private void checkOpen() throws IOException {
		if (this.closed) {
			throw new IOException("Replication of disk '" + this.disk + "' has stopped");
		}
	}

	private IOException baseFault(String what, long offset, IOException ex) {
		return this.faults.recordIo(FaultClass.BASE_IO, what, offset, ex);
	}

	/**
	 * Saves the base clusters of {@code [offset, offset + length)} that hidden does not
	 * hold yet.
	 */
	private Stripes.Held copyBeforeWrite(long offset, long length) throws IOException {
		long first = offset >>> CLUSTER_SHIFT;
		long last = (offset + length - 1) >>> CLUSTER_SHIFT;
		boolean saved = true;
		for (long cluster = first; cluster <= last && saved; cluster++) {
			saved = this.hidden.contains(cluster);
		}
		if (saved) {
			// Readers never fall through to the base for clusters that hidden holds.
			return () -> {
			};
		}
		Stripes.Held held = this.stripes.lockExclusive(first, last);
		try {
			long cluster = first;
			while (cluster <= last) {
				if (this.hidden.contains(cluster)) {
					cluster++;
					continue;
				}
				// A run of clusters that hidden lacks, saved with one read and one write.
				long runEnd = cluster + 1;
				while (runEnd <= last && runEnd - cluster < CBW_RUN && !this.hidden.contains(runEnd)) {
					runEnd++;
				}
				saveRun(cluster, (int) (runEnd - cluster));
				cluster = runEnd;
			}
			return held;
		}
		catch (IOException | RuntimeException | Error ex) {
			held.close();
			throw ex;
		}
	}

	private void saveRun(long first, int count) throws IOException {
		long start = first << CLUSTER_SHIFT;
		int length = (int) Math.min((long) count << CLUSTER_SHIFT, this.base.size() - start);
		try {
			// A run of data in an image file is copied inside the kernel; anything else
			// is read first, so that clusters of zeroes take no space in hidden.
			if (this.base instanceof FileBlockDevice file && length == count * CLUSTER_SIZE && allData(start, length)) {
				this.hidden.allocateRunFrom(first, count, file, start);
			}
			else {
				saveRunThroughBuffer(first, count, start, length);
			}
		}
		catch (IOException | RuntimeException ex) {
			String detail = "clusters at offset " + start + "+" + length + ": " + Faults.describe(ex);
			this.faults.record(FaultClass.COPY_BEFORE_WRITE, detail);
			throw new RecordedIOException("Copy-before-write failed for " + detail, ex);
		}
	}

	private void saveRunThroughBuffer(long first, int count, long start, int length) throws IOException {
		ByteBuffer buffer = CBW_BUFFER.get();
		buffer.clear().limit(length);
		this.base.read(start, buffer);
		buffer.flip();
		boolean anyZero = false;
		for (int i = 0; i < count && !anyZero; i++) {
			anyZero = isZero(cluster(buffer, i));
		}
		if (!anyZero && length == count * CLUSTER_SIZE) {
			this.hidden.allocateRun(first, count, buffer);
			return;
		}
		for (int i = 0; i < count; i++) {
			ByteBuffer data = cluster(buffer, i);
			if (isZero(data)) {
				this.hidden.allocateZero(first + i);
			}
			else {
				this.hidden.allocate(first + i, data);
			}
		}
	}

	/**
	 * Whether the base's allocation map shows {@code [start, start + length)} as data
	 * throughout.
	 */
	private boolean allData(long start, int length) throws IOException {
		List<BlockDevice.Extent> extents = this.base.allocation(start, length);
		return extents.size() == 1 && !extents.get(0).zero() && extents.get(0).length() >= length;
	}

	private static ByteBuffer cluster(ByteBuffer run, int index) {
		ByteBuffer cluster = run.duplicate();
		int from = index * CLUSTER_SIZE;
		cluster.position(from).limit(Math.min(run.limit(), from + CLUSTER_SIZE));
		return cluster;
	}

	/** Clusters saved per read and write in copy-before-write: 1 MiB. */
	private static final int CBW_RUN = 16;

	private static final ThreadLocal<ByteBuffer> CBW_BUFFER = ThreadLocal
		.withInitial(() -> ByteBuffer.allocateDirect(CBW_RUN * CLUSTER_SIZE));

	private static boolean isZero(ByteBuffer buffer) {
		int i = buffer.position();
		int end = buffer.limit();
		for (; i + 8 <= end; i += 8) {
			if (buffer.getLong(i) != 0) {
				return false;
			}
		}
		for (; i < end; i++) {
			if (buffer.get(i) != 0) {
				return false;
			}
		}
		return true;
	}

	/** The primary's writes: copy-before-write, then into the base. */
	private final class ReplicaView extends GatedDevice {

		ReplicaView() {
			super(SecondaryStack.this.barrier, SecondaryStack.this.base.size());
		}

		@Override
		public void read(long offset, ByteBuffer dst) throws IOException {
			gated("read", offset, () -> SecondaryStack.this.base.read(offset, dst));
		}

		@Override
		public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
			update("write", offset, () -> {
				try (Stripes.Held held = copyBeforeWrite(offset, src.remaining())) {
					SecondaryStack.this.base.write(offset, src, fua);
				}
			});
		}

		@Override
		public void writeZeroes(long offset, long length, boolean mayTrim, boolean fua) throws IOException {
			update("write-zeroes", offset, () -> {
				try (Stripes.Held held = copyBeforeWrite(offset, length)) {
					SecondaryStack.this.base.writeZeroes(offset, length, mayTrim, fua);
				}
			});
		}

		@Override
		public void trim(long offset, long length, boolean fua) throws IOException {
			// Stored as zeroes so that both nodes keep identical contents.
			writeZeroes(offset, length, true, fua);
		}

		@Override
		public void flush() throws IOException {
			update("flush", 0, () -> SecondaryStack.this.base.flush());
		}

		@Override
		public List<Extent> allocation(long offset, long length) throws IOException {
			return allocationOf(SecondaryStack.this.base, offset, length);
		}

		@Override
		protected void checkOpen() throws IOException {
			if (SecondaryStack.this.replicaClosed) {
				throw new IOException("Disk '" + SecondaryStack.this.disk
						+ "' no longer accepts replicated writes: its replication was stopped");
			}
		}

		@Override
		protected IOException fault(String what, long offset, IOException ex) {
			return baseFault(what, offset, ex);
		}

	}

	/** Hidden overlay over the base: the backing of the active overlay. Read-only. */
	private final class HiddenView implements BlockDevice {

		@Override
		public long size() {
			return SecondaryStack.this.base.size();
		}

		@Override
		public boolean readOnly() {
			return true;
		}

		@Override
		public void read(long offset, ByteBuffer dst) throws IOException {
			long end = offset + dst.remaining();
			long pos = offset;
			while (pos < end) {
				long cluster = pos >>> CLUSTER_SHIFT;
				long clusterEnd = Math.min(end, (cluster + 1) << CLUSTER_SHIFT);
				int length = (int) (clusterEnd - pos);
				ByteBuffer part = dst.duplicate();
				part.limit(part.position() + length);
				Lock lock = SecondaryStack.this.stripes.of(cluster).readLock();
				lock.lock();
				try {
					if (!SecondaryStack.this.hidden.read(cluster, (int) (pos & (CLUSTER_SIZE - 1)), part)) {
						try {
							SecondaryStack.this.base.read(pos, part);
						}
						catch (IOException ex) {
							throw baseFault("read", pos, ex);
						}
					}
				}
				finally {
					lock.unlock();
				}
				dst.position(dst.position() + length);
				pos = clusterEnd;
			}
		}

		@Override
		public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
			throw new IOException("The hidden overlay is written by copy-before-write only");
		}

		@Override
		public void writeZeroes(long offset, long length, boolean mayTrim, boolean fua) throws IOException {
			throw new IOException("The hidden overlay is written by copy-before-write only");
		}

		@Override
		public void trim(long offset, long length, boolean fua) throws IOException {
			throw new IOException("The hidden overlay is written by copy-before-write only");
		}

		@Override
		public void flush() throws IOException {
			try {
				SecondaryStack.this.base.flush();
			}
			catch (IOException ex) {
				throw baseFault("flush", 0, ex);
			}
		}

		@Override
		public List<Extent> allocation(long offset, long length) throws IOException {
			try {
				return OverlayDevice.allocation(SecondaryStack.this.hidden, SecondaryStack.this.base, offset, length);
			}
			catch (IOException ex) {
				throw baseFault("block status", offset, ex);
			}
		}

		@Override
		public void close() {
		}

	}

	/** The workload's device: the active overlay, gated by the barrier. */
	private final class WorkloadView extends GatedDevice {

		WorkloadView() {
			super(SecondaryStack.this.barrier, SecondaryStack.this.base.size());
		}

		@Override
		public void read(long offset, ByteBuffer dst) throws IOException {
			gated("read", offset, () -> SecondaryStack.this.activeDevice.read(offset, dst));
		}

		@Override
		public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
			gated("write", offset, () -> SecondaryStack.this.activeDevice.write(offset, src, fua));
		}

		@Override
		public void writeZeroes(long offset, long length, boolean mayTrim, boolean fua) throws IOException {
			gated("write-zeroes", offset,
					() -> SecondaryStack.this.activeDevice.writeZeroes(offset, length, mayTrim, fua));
		}

		@Override
		public void trim(long offset, long length, boolean fua) throws IOException {
			gated("trim", offset, () -> SecondaryStack.this.activeDevice.trim(offset, length, fua));
		}

		@Override
		public void flush() throws IOException {
			gated("flush", 0, () -> SecondaryStack.this.activeDevice.flush());
		}

		@Override
		public List<Extent> allocation(long offset, long length) throws IOException {
			return allocationOf(SecondaryStack.this.activeDevice, offset, length);
		}

		@Override
		protected void checkOpen() throws IOException {
			if (SecondaryStack.this.closed) {
				throw new IOException("Disk '" + SecondaryStack.this.disk + "': its overlays were dropped");
			}
		}

		@Override
		protected IOException fault(String what, long offset, IOException ex) {
			return SecondaryStack.this.faults.recordIo(FaultClass.OVERLAY_IO, what, offset, ex);
		}

	}

}
