package dev.lockstep.block.nbd.client;

import java.io.IOException;

import org.jspecify.annotations.Nullable;

import dev.lockstep.block.nbd.Nbd;

/**
 * A command that the server answered with an error. The connection stays usable.
 */
public class NbdCommandException extends IOException {

	private static final long serialVersionUID = 1L;

	private final int error;

	public NbdCommandException(String command, int error, @Nullable String serverMessage) {
		super(command + " failed with " + Nbd.errorName(error)
				+ ((serverMessage != null && !serverMessage.isEmpty()) ? ": " + serverMessage : ""));
		this.error = error;
	}

	/** The NBD error value, e.g. {@link Nbd#EINVAL}. */
	public int error() {
		return this.error;
	}

}
