package dev.lockstep.block.nbd;

import org.springframework.boot.logging.LogLevel;
import org.springframework.boot.logging.LoggingSystem;

/**
 * The NBD server's log level for tests that read what it logs: other tests in the same
 * JVM may have left its loggers quieter than INFO, where refusals are logged.
 */
final class NbdLogs {

	private NbdLogs() {
	}

	/** Logs the NBD packages at INFO. */
	static void atInfo() {
		loggingSystem().setLogLevel(NbdServer.class.getPackageName(), LogLevel.INFO);
	}

	/** Gives the NBD packages their configured level back. */
	static void restore() {
		loggingSystem().setLogLevel(NbdServer.class.getPackageName(), null);
	}

	private static LoggingSystem loggingSystem() {
		return LoggingSystem.get(NbdLogs.class.getClassLoader());
	}

}
