package dev.lockstep.block.replicated.protocol;

import java.util.Locale;

/**
 * What a disk's replication keeps on failover; configured per disk as
 * {@code lockstep.block.disks[].replication}.
 */
public enum ReplicationKind {

	/**
	 * COLO semantics (QEMU's block replication): the secondary runs its own workload on
	 * active and hidden overlays, and failover keeps the secondary's view as of the last
	 * checkpoint plus its own writes.
	 */
	COLO,

	/**
	 * Mirror semantics (DRBD protocol C): the secondary runs no workload, its export is
	 * read-only, and failover keeps every write the primary acknowledged.
	 */
	MIRROR;

	@Override
	public String toString() {
		return name().toLowerCase(Locale.ROOT);
	}

}
