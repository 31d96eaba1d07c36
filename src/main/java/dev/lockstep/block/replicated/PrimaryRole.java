package dev.lockstep.block.replicated;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.layer.Faults;
import dev.lockstep.block.layer.SwitchingDevice;
import dev.lockstep.block.replicated.lineage.DiskLineage;
import dev.lockstep.block.replicated.lineage.SyncPlan;
import dev.lockstep.block.replicated.primary.PrimaryDevice;
import dev.lockstep.block.replicated.primary.RemoteDisk;
import dev.lockstep.block.replicated.primary.Resync;
import dev.lockstep.block.replicated.primary.SyncProgress;
import dev.lockstep.block.replicated.protocol.PeerProtocol;
import dev.lockstep.block.replicated.protocol.ReplicationKind;

/**
 * How one disk becomes a primary and stops being one: the connections to the secondary's
 * exports, the check of its replica, the plan from both lineages, the switch to
 * forwarding and the synchronisation that follows it ({@link PeerProtocol}); then a
 * planned stop, which drains and flushes both sides before it disconnects, or a failover,
 * which keeps marking what changes for the next resynchronisation.
 */
final class PrimaryRole {

	private static final Log logger = LogFactory.getLog(PrimaryRole.class);

	private final String disk;

	private final ReplicationKind kind;

	private final BlockDevice base;

	private final SwitchingDevice device;

	private final DiskLineage lineage;

	private final PeerConnector peers;

	private final Faults faults;

	private final SyncProgress progress;

	private final long logIntervalNanos;

	private final Duration forwardTimeout;

	PrimaryRole(String disk, ReplicationKind kind, BlockDevice base, SwitchingDevice device, DiskLineage lineage,
			PeerConnector peers, Faults faults, SyncProgress progress, long logIntervalNanos, Duration forwardTimeout) {
		this.disk = disk;
		this.kind = kind;
		this.base = base;
		this.device = device;
		this.lineage = lineage;
		this.peers = peers;
		this.faults = faults;
		this.progress = progress;
		this.logIntervalNanos = logIntervalNanos;
		this.forwardTimeout = forwardTimeout;
	}

	/**
	 * Starts forwarding to the secondary at {@code peer} and synchronises it. On failure
	 * the disk serves its image alone again, its writes marked as diverging.
	 * @param peer the secondary's NBD address
	 * @param forwardedWrites receives each forwarded write's latency
	 * @param cancelled whether the start was abandoned, which stops the synchronisation
	 * @param switchedOn told once writes are forwarded, before the synchronisation: the
	 * disk is primary from then on
	 * @return the forwarding device, synchronised
	 * @throws Exception if the secondary refuses, cannot be reached, or the
	 * synchronisation fails
	 */
	PrimaryDevice start(URI peer, LongConsumer forwardedWrites, BooleanSupplier cancelled,
			Consumer<PrimaryDevice> switchedOn) throws Exception {
		RemoteDisk remote = this.peers.connect(peer, PeerProtocol.replicaExport(this.disk));
		RemoteDisk hashes = null;
		PrimaryDevice forwarding = null;
		try {
			this.peers.checkReplica(remote, peer, this.base.size(), this.kind);
			SyncPlan plan = this.peers.plan(peer, remote, this.lineage, this.forwardTimeout);
			this.lineage.startingAsPrimary();
			hashes = this.peers.connect(peer, PeerProtocol.hashesExport(this.disk));
			forwarding = new PrimaryDevice(this.disk, this.base, remote, peer.toString(), this.lineage, this.faults,
					this.forwardTimeout, forwardedWrites);
			forwarding.syncing(true);
			PrimaryDevice switched = forwarding;
			// Atomically with the switch: a write before it is this node's alone, one
			// after it is forwarded.
			this.device.exclusive(() -> {
				this.device.switchTo(switched);
				this.lineage.tracking(DiskLineage.Tracking.AGREED);
			});
			switchedOn.accept(forwarding);
			logger.info("Disk '" + this.disk + "': forwarding writes to " + peer + "; synchronising");
			new Resync(this.disk, forwarding, hashes, this.lineage.dirty(), plan, this.progress, this.logIntervalNanos,
					cancelled)
				.run();
			forwarding.syncing(false);
			if (!forwarding.forwarding()) {
				throw new IOException(this.faults.message().orElse("forwarding to " + peer + " stopped"));
			}
			// Offers this node's generation, then completes the synchronisation (see
			// PeerProtocol).
			this.peers.offer(peer, this.lineage.record().current(), this.forwardTimeout);
			hashes.await(hashes.flush(), this.forwardTimeout);
			this.lineage.synchronisedAsPrimary();
			return forwarding;
		}
		catch (Exception ex) {
			// A failed start leaves the disk idle, and an idle disk reports no error.
			this.faults.clear();
			// Diverging first: a write from now on may not reach the secondary.
			this.lineage.tracking(DiskLineage.Tracking.DIVERGING);
			if (forwarding != null) {
				forwarding.stopForwarding();
				this.device.switchTo(this.base);
			}
			closeQuietly(remote);
			if (ex instanceof InterruptedException || ex instanceof StartRefusedException) {
				throw ex;
			}
			throw new IOException("Cannot start disk '" + this.disk + "' as primary with secondary " + peer + ": "
					+ Faults.describe(ex), ex);
		}
		finally {
			closeQuietly(hashes);
		}
	}

	/**
	 * Stops being primary. A failover keeps the forwarding device, which from then on
	 * only marks what changes, and starts a new generation; a planned stop flushes the
	 * secondary, switches back to the image and disconnects cleanly when the secondary
	 * answered, so that it knows the primary left on purpose.
	 * @param forwarding the forwarding device
	 * @param failover whether this node fails over
	 */
	void stop(PrimaryDevice forwarding, boolean failover) throws Exception {
		if (failover) {
			this.device.exclusive(() -> {
				forwarding.stopForwarding();
				this.lineage.newGeneration("failover as primary");
			});
			closeQuietly(forwarding.remote());
			return;
		}
		boolean drained = this.device.exclusive(() -> {
			boolean flushed = false;
			if (forwarding.forwarding()) {
				try {
					forwarding.remote().await(forwarding.remote().flush(), this.forwardTimeout);
					flushed = true;
				}
				catch (IOException ex) {
					forwarding.fail(ex);
				}
			}
			forwarding.stopForwarding();
			this.device.switchTo(this.base);
			this.lineage.tracking(DiskLineage.Tracking.DIVERGING);
			if (flushed) {
				this.lineage.drained(true);
			}
			return flushed;
		});
		if (drained) {
			// Nothing is in flight and the secondary has just answered: disconnect
			// cleanly (NBD_CMD_DISC) before returning, also when the process is shutting
			// down, so that the secondary knows the primary left on purpose (a planned
			// stop in PeerProtocol).
			forwarding.remote().close();
		}
		else {
			closeQuietly(forwarding.remote());
		}
	}

	private static void closeQuietly(@Nullable RemoteDisk remote) {
		if (remote != null) {
			PrimaryDevice.closeInBackground(remote);
		}
	}

}
