package dev.lockstep.block.replicated;

import java.io.IOException;

/**
 * A start of a disk's replication refused before the disk changed role, with a message
 * that already says which disk, which peer and why. It is passed on as it is, where any
 * other failure of a start is wrapped in one that names the disk and the peer.
 */
final class StartRefusedException extends IOException {

	private static final long serialVersionUID = 1L;

	StartRefusedException(String message) {
		super(message);
	}

	StartRefusedException(String message, Throwable cause) {
		super(message, cause);
	}

}
