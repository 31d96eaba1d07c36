package dev.lockstep.block.nbd.client;

/**
 * Thrown when a client configured for TLS finds a server that will not start it: the
 * client never falls back to plaintext.
 */
public class NbdTlsRefusedException extends NbdException {

	private static final long serialVersionUID = 1L;

	public NbdTlsRefusedException(String message) {
		super(message);
	}

}
