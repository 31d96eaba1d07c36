package dev.lockstep.block.replicated;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Duration;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import dev.lockstep.block.layer.Faults;
import dev.lockstep.block.replicated.lineage.DiskLineage;
import dev.lockstep.block.replicated.lineage.Generation;
import dev.lockstep.block.replicated.lineage.LineageConflictException;
import dev.lockstep.block.replicated.lineage.LineageDevice;
import dev.lockstep.block.replicated.lineage.LineageView;
import dev.lockstep.block.replicated.lineage.SyncPlan;
import dev.lockstep.block.replicated.lineage.SyncPlanner;
import dev.lockstep.block.replicated.primary.RemoteDisk;
import dev.lockstep.block.replicated.protocol.PeerProtocol;
import dev.lockstep.block.replicated.protocol.ReplicationKind;

/**
 * Connects a primary disk to its secondary's exports, checks that the replica export fits
 * the disk, and compares the two nodes' lineages of it (see {@link PeerProtocol}). Every
 * failure is a {@link StartRefusedException} that names the disk, the peer and what to
 * do.
 */
final class PeerConnector {

	private static final Log logger = LogFactory.getLog(PeerConnector.class);

	private final BlockEngineAccess engine;

	private final String disk;

	PeerConnector(BlockEngineAccess engine, String disk) {
		this.engine = engine;
		this.disk = disk;
	}

	/** Connects to one export of the secondary. */
	RemoteDisk connect(URI peer, String export) throws StartRefusedException {
		try {
			return this.engine.connect(peer, export);
		}
		catch (BlockEngineAccess.NoSuchExportException ex) {
			throw new StartRefusedException("Cannot start disk '" + this.disk + "' as primary: the peer " + peer
					+ " does not serve export '" + export + "', so it is not running as secondary for this disk;"
					+ " start replication on the secondary first", ex);
		}
		catch (IOException ex) {
			throw new StartRefusedException(
					"Cannot start disk '" + this.disk + "' as primary: cannot reach the secondary " + peer
							+ " (export '" + export + "'): " + Faults.describe(ex),
					ex);
		}
	}

	/**
	 * Reads the secondary's lineage from its lineage export and decides what the
	 * synchronisation copies ({@link SyncPlanner}). A refusal disconnects from the
	 * replica export cleanly first, so that the secondary sees a planned departure and
	 * nothing on it changes.
	 * @param peer the secondary
	 * @param remote the connection to its replica export
	 * @param lineage this disk's lineage
	 * @param timeout the longest wait for the secondary's reply
	 * @return the plan
	 * @throws StartRefusedException if the synchronisation would discard changes only the
	 * operator may discard, or the lineage cannot be read
	 */
	SyncPlan plan(URI peer, RemoteDisk remote, DiskLineage lineage, Duration timeout) throws IOException {
		LineageView theirs;
		try (RemoteDisk link = connect(peer, PeerProtocol.lineageExport(this.disk))) {
			ByteBuffer bytes = ByteBuffer.allocate((int) link.size());
			link.await(link.read(0, bytes), timeout);
			theirs = LineageView.decode(bytes.array(), lineage.record().size());
		}
		catch (IllegalArgumentException ex) {
			throw new StartRefusedException("Cannot start disk '" + this.disk + "' as primary: the lineage that the "
					+ "secondary " + peer + " serves is unreadable (" + ex.getMessage() + "); run the same Lockstep "
					+ "version on both nodes", ex);
		}
		try {
			SyncPlan plan = SyncPlanner.plan(this.disk, peer.toString(), lineage.view(), theirs);
			logger.info("Disk '" + this.disk + "': synchronisation with " + peer + " by " + plan.method() + ": "
					+ plan.reason());
			return plan;
		}
		catch (LineageConflictException ex) {
			remote.close();
			logger.warn(ex.getMessage());
			throw new StartRefusedException(String.valueOf(ex.getMessage()), ex);
		}
	}

	/**
	 * Offers this disk's generation to the secondary, which takes it when the
	 * synchronisation completes (see {@link PeerProtocol}).
	 */
	void offer(URI peer, Generation generation, Duration timeout) throws IOException {
		try (RemoteDisk link = connect(peer, PeerProtocol.lineageExport(this.disk))) {
			link.await(link.write(0, LineageDevice.offer(generation), false), timeout);
			link.await(link.flush(), timeout);
		}
	}

	/**
	 * Refuses a replica export whose size differs from the disk's or whose description
	 * names another kind of replication.
	 */
	void checkReplica(RemoteDisk remote, URI peer, long size, ReplicationKind kind) throws StartRefusedException {
		if (remote.size() != size) {
			throw new StartRefusedException("Cannot start disk '" + this.disk + "' as primary: the secondary " + peer
					+ " exports '" + PeerProtocol.replicaExport(this.disk) + "' with " + remote.size()
					+ " bytes, but the local disk has " + size + " bytes");
		}
		ReplicationKind remoteKind = PeerProtocol.kindOf(remote.description());
		if (remoteKind != kind) {
			throw new StartRefusedException(
					"Cannot start disk '" + this.disk + "' as primary: the secondary " + peer + " replicates it as "
							+ ((remoteKind != null) ? remoteKind : "an unknown kind (" + remote.description() + ")")
							+ ", but this node is configured for " + kind
							+ "; set lockstep.block.disks[].replication to the same value on both nodes");
		}
	}

}
