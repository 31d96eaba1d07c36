package dev.lockstep.block.replicated;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.lockstep.LockstepApplication;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A {@link LockstepNode}'s configuration run as its own JVM process, so that a test can
 * kill it with SIGKILL or stop it with SIGTERM; the node itself is then only a client of
 * that process's API and exports.
 */
final class NodeProcess implements AutoCloseable {

	private final LockstepNode node;

	private final Path log;

	private Process process;

	private NodeProcess(LockstepNode node, Path log, Process process) {
		this.node = node;
		this.log = log;
		this.process = process;
	}

	/**
	 * Starts {@code node}'s configuration as a process and waits until its API answers.
	 */
	static NodeProcess start(LockstepNode node) throws IOException, InterruptedException {
		Files.createDirectories(node.dir);
		Path log = node.dir.resolve(node.name + ".log");
		return new NodeProcess(node, log, launch(node, log));
	}

	private static Process launch(LockstepNode node, Path log) throws IOException, InterruptedException {
		List<String> command = new ArrayList<>(
				List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
						"-XX:TieredStopAtLevel=1", "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "-cp",
						System.getProperty("java.class.path"), LockstepApplication.class.getName()));
		command.addAll(node.arguments());
		Process process = new ProcessBuilder(command).redirectErrorStream(true)
			.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
			.start();
		long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
		while (System.nanoTime() < deadline) {
			assertThat(process.isAlive()).as(() -> read(log)).isTrue();
			try {
				if (node.get("/api/v1/replication").status() == 200) {
					return process;
				}
			}
			catch (IOException ex) {
				// not listening yet
			}
			Thread.sleep(200);
		}
		process.destroyForcibly();
		throw new AssertionError("Node " + node.name + " did not start:\n" + read(log));
	}

	/** The node, as a client of this process. */
	LockstepNode node() {
		return this.node;
	}

	/** Kills the process with SIGKILL and waits until it is gone. */
	void kill() throws InterruptedException {
		this.process.destroyForcibly();
		assertThat(this.process.waitFor(30, TimeUnit.SECONDS)).as("node %s dies", this.node.name).isTrue();
	}

	/** Stops the process with SIGTERM, a graceful shutdown, and waits until it exits. */
	void terminate() throws InterruptedException {
		this.process.destroy();
		assertThat(this.process.waitFor(60, TimeUnit.SECONDS)).as("node %s exits", this.node.name).isTrue();
	}

	/**
	 * Starts the process again on the same directory and ports, once the old one is gone.
	 */
	void restart() throws IOException, InterruptedException {
		assertThat(this.process.isAlive()).as("node %s is stopped before its restart", this.node.name).isFalse();
		this.process = launch(this.node, this.log);
	}

	/**
	 * One number of the disk's status, as {@code GET /api/v1/replication} shows it, by
	 * its name (such as {@code copiedBytes}).
	 */
	long number(String field) throws IOException, InterruptedException {
		String body = this.node.get("/api/v1/replication").body();
		Matcher matcher = Pattern.compile("\"" + field + "\":(\\d+)").matcher(body);
		assertThat(matcher.find()).as("%s in %s", field, body).isTrue();
		return Long.parseLong(matcher.group(1));
	}

	/** One text of the disk's status, by its name (such as {@code method}). */
	String text(String field) throws IOException, InterruptedException {
		String body = this.node.get("/api/v1/replication").body();
		Matcher matcher = Pattern.compile("\"" + field + "\":\"([^\"]*)\"").matcher(body);
		assertThat(matcher.find()).as("%s in %s", field, body).isTrue();
		return matcher.group(1);
	}

	@Override
	public void close() throws InterruptedException {
		this.process.destroyForcibly();
		this.process.waitFor(30, TimeUnit.SECONDS);
	}

	private static String read(Path log) {
		try {
			return Files.readString(log);
		}
		catch (IOException ex) {
			return ex.toString();
		}
	}

}
