package dev.lockstep.block.replication;

import java.io.IOException;

/**
 * One request to a device below, run where the caller decides (under a lock, beside a
 * forward).
 */
@FunctionalInterface
interface IoAction {

	void run() throws IOException;

}
