package dev.lockstep.block.replicated;

import java.io.IOException;
import java.net.URI;

import dev.lockstep.block.layer.Faults;
import dev.lockstep.block.replicated.primary.RemoteDisk;
import dev.lockstep.block.replicated.protocol.PeerProtocol;
import dev.lockstep.block.replicated.protocol.ReplicationKind;

/**
 * Connects a primary disk to its secondary's exports and checks that the replica export
 * fits the disk (see {@link PeerProtocol}). Every failure is a
 * {@link StartRefusedException} that names the disk, the peer and what to do.
 */
final class PeerConnector {

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
