package dev.lockstep.block.replicated.secondary;

import java.io.IOException;

import org.jspecify.annotations.Nullable;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.Export;
import dev.lockstep.block.layer.Faults;
import dev.lockstep.block.layer.ReadOnlyView;

/**
 * The secondary side of a {@code mirror} disk: the primary's writes go straight into the
 * base ({@link MirrorReplica}), and the disk's own export shows the base read-only. It
 * follows neither the primary's connections nor its synchronisations: a failover keeps
 * every write the primary acknowledged, whenever it comes.
 */
public final class MirrorSecondary implements Secondary {

	private final BlockDevice base;

	private final MirrorReplica replica;

	private final BlockDevice workload;

	public MirrorSecondary(String disk, BlockDevice base, Faults faults) {
		this.base = base;
		this.replica = new MirrorReplica(disk, base, faults);
		this.workload = new ReadOnlyView(base);
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
	public Export.@Nullable ClientListener primaryConnections() {
		return null;
	}

	@Override
	public Export.@Nullable ClientListener synchronisations() {
		return null;
	}

	@Override
	public void synchronised() {
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
