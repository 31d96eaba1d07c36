package dev.lockstep.block.nbd;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the real NBD clients (qemu-img, qemu-io, nbdinfo, nbdcopy, fio) with a time limit
 * and captures their output.
 */
public final class Tools {

	private Tools() {
	}

	/** Runs a command and returns its result; fails if it does not end in time. */
	public static Result run(int timeoutSeconds, String... command) throws IOException, InterruptedException {
		return run(timeoutSeconds, Arrays.asList(command));
	}

	public static Result run(int timeoutSeconds, List<String> command) throws IOException, InterruptedException {
		Path output = Files.createTempFile("tool", ".out");
		try {
			Process process;
			try {
				process = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true)
					.redirectOutput(output.toFile())
					.start();
			}
			catch (IOException ex) {
				throw new IllegalStateException(command.get(0) + " is not installed (see .ci/run)", ex);
			}
			if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
				process.destroyForcibly().waitFor();
				throw new IllegalStateException(String.join(" ", command) + " did not finish within " + timeoutSeconds
						+ " s; output:\n" + Files.readString(output, StandardCharsets.UTF_8));
			}
			return new Result(process.exitValue(), Files.readString(output, StandardCharsets.UTF_8));
		}
		finally {
			Files.deleteIfExists(output);
		}
	}

	/** Runs a command and returns its output, failing unless it exits with 0. */
	public static String ok(int timeoutSeconds, String... command) throws IOException, InterruptedException {
		Result result = run(timeoutSeconds, command);
		if (result.exitCode() != 0) {
			throw new AssertionError(
					String.join(" ", command) + " exited with " + result.exitCode() + ":\n" + result.output());
		}
		return result.output();
	}

	public record Result(int exitCode, String output) {
	}

}
