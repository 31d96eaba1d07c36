package dev.lockstep.block.replicated.secondary;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import org.jspecify.annotations.Nullable;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.Export;
import dev.lockstep.block.overlay.ClusterOverlay;
import dev.lockstep.block.overlay.Stripes;
import dev.lockstep.block.layer.FaultClass;
import dev.lockstep.block.layer.Faults;
import dev.lockstep.block.layer.GatedDevice;

import static dev.lockstep.block.overlay.ClusterOverlay.CLUSTER_SHIFT;

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
public final class SecondaryStack implements Secondary {

	private final String disk;

	private final BlockDevice base;

	private final Overlays overlays;

	private final ReentrantReadWriteLock barrier = new ReentrantReadWriteLock();

	private final Faults faults;

	private final BlockDevice workload;

	private final ReplicaView replica;

	private volatile boolean replicaClosed;

	private final PrimaryLink link;

	private final PrimaryWatch watch;

	private volatile boolean closed;

	/** A stack whose primary's silence is not watched; see the other constructor. */
	public SecondaryStack(String disk, BlockDevice base, Path hiddenFile, Path activeFile, Faults faults)
			throws IOException {
		this(disk, base, hiddenFile, activeFile, faults, null);
	}

	/**
	 * @param silenceLimit how long the primary may send nothing before it counts as lost,
	 * or null if it sends no keepalive; see {@link #primaryLoss()}
	 */
	public SecondaryStack(String disk, BlockDevice base, Path hiddenFile, Path activeFile, Faults faults,
			@Nullable Duration silenceLimit) throws IOException {
		this.disk = disk;
		this.base = base;
		this.faults = faults;
		this.overlays = new Overlays(base, hiddenFile, activeFile, faults);
		this.link = new PrimaryLink(disk);
		this.watch = new PrimaryWatch(disk, silenceLimit, () -> this.replicaClosed, this.link);
		this.workload = new WorkloadView();
		this.replica = new ReplicaView();
	}

	/** The secondary workload's view of the disk. */
	@Override
	public BlockDevice workload() {
		return this.workload;
	}

	/**
	 * Follows the primary's connections to the replica export; see {@link PrimaryWatch}
	 * and {@link PrimaryLink}.
	 */
	@Override
	public Export.ClientListener primaryConnections() {
		return this.watch.replicaClients();
	}

	/** Follows the primary's synchronisations; see {@link PrimaryWatch}. */
	@Override
	public Export.ClientListener synchronisations() {
		return this.watch.hashClients();
	}

	/** The primary has completed a synchronisation; see {@link PrimaryLink}. */
	@Override
	public void synchronised() {
		this.link.synchronised();
		this.watch.synchronised();
	}

	/** Whether the primary is lost; see {@link PrimaryWatch}. */
	@Override
	public Optional<PrimaryLoss> primaryLoss() {
		return this.watch.loss();
	}

	/** The device behind the {@code <disk>.replica} export. */
	@Override
	public BlockDevice replica() {
		return this.replica;
	}

	ClusterOverlay hiddenOverlay() {
		return this.overlays.hidden();
	}

	@Override
	public long activeOverlayBytes() {
		return (long) this.overlays.active().allocatedClusters() << CLUSTER_SHIFT;
	}

	@Override
	public long hiddenOverlayBytes() {
		return (long) this.overlays.hidden().allocatedClusters() << CLUSTER_SHIFT;
	}

	/** Stops accepting the primary's writes; waits for those in flight. */
	@Override
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
	@Override
	public void checkpoint() throws IOException {
		this.barrier.writeLock().lock();
		try {
			checkOpen();
			this.replica.requireAllUpdatesApplied(this.disk, OVERLAYS_KEPT);
			Optional<String> refusal = this.link.checkpointRefusal(OVERLAYS_KEPT);
			if (refusal.isPresent()) {
				throw new IOException(refusal.get());
			}
			try {
				this.overlays.makeEmpty();
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
	@Override
	public void commit() throws IOException {
		this.barrier.writeLock().lock();
		try {
			checkOpen();
			this.replicaClosed = true;
			try {
				this.overlays.writeIntoBase();
				this.base.flush();
			}
			catch (IOException | RuntimeException ex) {
				this.faults.record(FaultClass.COMMIT, Faults.describe(ex));
				throw new IOException("Could not commit the overlays of disk '" + this.disk + "' into its base image: "
						+ Faults.describe(ex), ex);
			}
			try {
				this.overlays.makeEmpty();
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
			this.overlays.close();
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

	/** The primary's writes: copy-before-write, then into the base. */
	private final class ReplicaView extends GatedDevice {

		ReplicaView() {
			super(SecondaryStack.this.barrier, SecondaryStack.this.base.size());
		}

		@Override
		public void read(long offset, ByteBuffer dst) throws IOException {
			SecondaryStack.this.watch.heard();
			gated("read", offset, () -> SecondaryStack.this.base.read(offset, dst));
		}

		@Override
		public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
			SecondaryStack.this.watch.heard();
			update("write", offset, () -> {
				try (Stripes.Held held = SecondaryStack.this.overlays.copyBeforeWrite().save(offset, src.remaining())) {
					SecondaryStack.this.base.write(offset, src, fua);
				}
			});
		}

		@Override
		public void writeZeroes(long offset, long length, boolean mayTrim, boolean fua) throws IOException {
			SecondaryStack.this.watch.heard();
			update("write-zeroes", offset, () -> {
				try (Stripes.Held held = SecondaryStack.this.overlays.copyBeforeWrite().save(offset, length)) {
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
			SecondaryStack.this.watch.heard();
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
			return SecondaryStack.this.faults.recordIo(FaultClass.BASE_IO, what, offset, ex);
		}

	}

	/** The workload's device: the active overlay, gated by the barrier. */
	private final class WorkloadView extends GatedDevice {

		WorkloadView() {
			super(SecondaryStack.this.barrier, SecondaryStack.this.base.size());
		}

		@Override
		public void read(long offset, ByteBuffer dst) throws IOException {
			gated("read", offset, () -> SecondaryStack.this.overlays.activeDevice().read(offset, dst));
		}

		@Override
		public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
			gated("write", offset, () -> SecondaryStack.this.overlays.activeDevice().write(offset, src, fua));
		}

		@Override
		public void writeZeroes(long offset, long length, boolean mayTrim, boolean fua) throws IOException {
			gated("write-zeroes", offset,
					() -> SecondaryStack.this.overlays.activeDevice().writeZeroes(offset, length, mayTrim, fua));
		}

		@Override
		public void trim(long offset, long length, boolean fua) throws IOException {
			gated("trim", offset, () -> SecondaryStack.this.overlays.activeDevice().trim(offset, length, fua));
		}

		@Override
		public void flush() throws IOException {
			gated("flush", 0, () -> SecondaryStack.this.overlays.activeDevice().flush());
		}

		@Override
		public List<Extent> allocation(long offset, long length) throws IOException {
			return allocationOf(SecondaryStack.this.overlays.activeDevice(), offset, length);
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
