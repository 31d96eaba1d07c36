package dev.lockstep.block.replicated.secondary;

import java.io.IOException;
import java.time.Duration;
import java.util.Optional;

import org.jspecify.annotations.Nullable;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.Export;
import dev.lockstep.block.layer.Faults;
import dev.lockstep.block.layer.ReadOnlyView;

/**
 * The secondary side of a {@code mirror} disk: the primary's writes go straight into the
 * base ({@link MirrorReplica}), and the disk's own export shows the base read-only. It
 * watches the primary's connections and synchronisations only to report a lost primary
 * ({@link PrimaryWatch}): checkpoints do not depend on them, and a failover keeps every
 * write the primary acknowledged, whenever it comes.
 */
public final class MirrorSecondary implements Secondary {

	private final BlockDevice base;

	private final MirrorReplica replica;

	private final BlockDevice workload;

	private final PrimaryWatch watch;

	/**
	 * @param silenceLimit how long the primary may send nothing before it counts as lost,
	 * or null if it sends no keepalive; see {@link #primaryLoss()}
	 */
	public MirrorSecondary(String disk, BlockDevice base, Faults faults, @Nullable Duration silenceLimit) {
		this.base = base;
		this.watch = new PrimaryWatch(disk, silenceLimit, this::replicaClosed, PrimaryWatch.NO_EVENTS);
		this.replica = new MirrorReplica(disk, base, faults, this.watch::heard);
		this.workload = new ReadOnlyView(base);
	}

	private boolean replicaClosed() {
		return this.replica.closed();
	}

	@Override
	public BlockDevice workload() {
		return this.workload;
	}

	@Override
	public BlockDevice replica() {
		return this.replica;
	}

	@Override
	public Export.ClientListener primaryConnections() {
		return this.watch.replicaClients();
	}

	@Override
	public Export.ClientListener synchronisations() {
		return this.watch.hashClients();
	}

	@Override
	public void synchronised() {
		this.watch.synchronised();
	}

	@Override
	public Optional<PrimaryLoss> primaryLoss() {
		return this.watch.loss();
	}

	@Override
	public void checkpoint() throws IOException {
		this.replica.checkpoint();
	}

	@Override
	public void closeReplica() {
		this.replica.close();
	}

	/** The base already holds every write; makes them durable. */
	@Override
	public void commit() throws IOException {
		this.base.flush();
	}

	@Override
	public long activeOverlayBytes() {
		return 0;
	}

	@Override
	public long hiddenOverlayBytes() {
		return 0;
	}

	/** Nothing to drop: the replica is closed by {@link #closeReplica()}. */
	@Override
	public void close() {
	}

}
