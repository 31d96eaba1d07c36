package dev.lockstep.block.replicated.secondary;

import java.io.IOException;
import java.util.Optional;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.Export;

/**
 * One disk's secondary side, whatever its kind: the device its own export serves, the
 * device that takes the primary's writes, and what a checkpoint, a failover and a stop do
 * to them. {@link SecondaryStack} is the {@code colo} one, {@link MirrorSecondary} the
 * {@code mirror} one.
 */
public interface Secondary extends AutoCloseable {

	/** The device the disk's own export serves while secondary. */
	BlockDevice workload();

	/** The device behind the {@code <disk>.replica} export. */
	BlockDevice replica();

	/** Follows the primary's connections to the replica export. */
	Export.ClientListener primaryConnections();

	/** Follows the clients of the hash export. */
	Export.ClientListener synchronisations();

	/** The primary has completed a synchronisation (a flush of the hash export). */
	void synchronised();

	/**
	 * Returns why the primary is lost (its connection broke without a clean disconnect,
	 * or it was silent too long), or empty if it is not. Cheap; never blocks on I/O.
	 */
	Optional<PrimaryLoss> primaryLoss();

	/** Makes what the primary wrote the new consistent state, or says why not. */
	void checkpoint() throws IOException;

	/** Stops accepting the primary's writes; waits for those in flight. */
	void closeReplica();

	/**
	 * Failover: makes the workload's view of the disk the base image's, durably. The
	 * caller has drained the disk's requests.
	 */
	void commit() throws IOException;

	/** Bytes held by the active overlay; 0 without one. */
	long activeOverlayBytes();

	/** Bytes held by the hidden overlay; 0 without one. */
	long hiddenOverlayBytes();

	/** Drops what the secondary side holds beside the base image. */
	@Override
	void close() throws IOException;

}
