package dev.lockstep.block.layer;

/**
 * The classes of block replication faults, after QEMU's
 * {@code docs/block-replication.txt}. Each is reported through the participant's error
 * with the disk, the time it first happened and its cause.
 */
public enum FaultClass {

	/**
	 * A primary write could not be forwarded to the secondary; forwarding has stopped.
	 */
	FORWARDING("secondary unreachable"),

	/** The old contents of a base region could not be saved into the hidden overlay. */
	COPY_BEFORE_WRITE("copy-before-write into the hidden overlay failed"),

	/** The base image failed a read, write or flush. */
	BASE_IO("I/O error on the base image"),

	/** An overlay file failed a read or write. */
	OVERLAY_IO("I/O error on an overlay"),

	/** The active or hidden overlay could not be emptied at a checkpoint. */
	MAKE_EMPTY("emptying the overlays failed"),

	/** The overlays could not be committed into the base image on failover. */
	COMMIT("committing the overlays into the base image failed"),

	/** The initial synchronisation with the secondary failed. */
	SYNC("synchronising with the secondary failed");

	private final String description;

	FaultClass(String description) {
		this.description = description;
	}

	/** Returns a short description for messages. */
	public String description() {
		return this.description;
	}

}
