package dev.lockstep.block.layer;

import java.io.IOException;

/**
 * One request to a device below, run where the caller decides (under a lock, beside a
 * forward).
 */
@FunctionalInterface
public interface IoAction {

	void run() throws IOException;

}
