package dev.lockstep.block;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.util.unit.DataSize;

import dev.lockstep.LockstepApplication;
import dev.lockstep.block.nbd.NbdServer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

class DiskEngineConfigurationTests {

	@TempDir
	Path directory;

	private final ApplicationContextRunner runner = new ApplicationContextRunner().withUserConfiguration(Config.class)
		.withPropertyValues("lockstep.block.nbd.port=0");

	@Test
	void defaultIsOneSparseGibibyteDisk() {
		this.runner.withPropertyValues("lockstep.block.data-dir=" + this.directory).run((context) -> {
			assertThat(context).hasNotFailed();
			DiskEngine engine = context.getBean(DiskEngine.class);
			assertThat(engine.disks()).singleElement().satisfies((disk) -> {
				assertThat(disk.name()).isEqualTo("disk0");
				assertThat(disk.size()).isEqualTo(1L << 30);
				assertThat(disk.allocatedBytes()).isZero();
				assertThat(disk.path()).isEqualTo(this.directory.resolve("disk0.img").toAbsolutePath());
			});
			int port = context.getBean(NbdServer.class).port();
			assertThat(port).isPositive();
			assertThat(engine.exportUrl("disk0")).isEqualTo("nbd://127.0.0.1:" + port + "/disk0");
		});
	}

	@Test
	void configuredDisksWithBinaryAndSpringSizes() {
		this.runner.withPropertyValues("lockstep.block.disks[0].name=a",
				"lockstep.block.disks[0].path=" + this.directory.resolve("a.img"), "lockstep.block.disks[0].size=64MiB",
				"lockstep.block.disks[1].name=b", "lockstep.block.disks[1].path=" + this.directory.resolve("b.img"),
				"lockstep.block.disks[1].size=2MB")
			.run((context) -> {
				assertThat(context).hasNotFailed();
				DiskEngine engine = context.getBean(DiskEngine.class);
				assertThat(engine.disks()).extracting(Disk::name).containsExactly("a", "b");
				assertThat(engine.disk("a").orElseThrow().size()).isEqualTo(64L << 20);
				assertThat(engine.disk("b").orElseThrow().size()).isEqualTo(2L << 20);
				assertThat(engine.exports().list()).hasSize(2);
			});
	}

	@Test
	void disabledEngineHasNoBeansAndNoPort() {
		this.runner.withPropertyValues("lockstep.block.enabled=false", "lockstep.block.data-dir=" + this.directory)
			.run((context) -> {
				assertThat(context).hasNotFailed().doesNotHaveBean(DiskEngine.class).doesNotHaveBean(NbdServer.class);
				assertThat(this.directory.resolve("disk0.img")).doesNotExist();
			});
	}

	@Test
	void imageServedByAnotherEngineStopsStartUpWithClearError() {
		this.runner.withPropertyValues("lockstep.block.data-dir=" + this.directory).run((first) -> {
			assertThat(first).hasNotFailed();
			this.runner.withPropertyValues("lockstep.block.data-dir=" + this.directory).run((second) -> {
				assertThat(second).hasFailed();
				assertThat(second.getStartupFailure()).rootCause().hasMessageContaining("disk0.img is in use");
				FailureAnalysis analysis = new DiskEngineFailureAnalyzer().analyze(second.getStartupFailure());
				assertThat(analysis.getDescription()).startsWith("Cannot serve disk 'disk0': ")
					.contains("disk0.img is in use");
				assertThat(analysis.getAction()).startsWith("Stop the other process that serves ");
			});
		});
	}

	@Test
	void imageThatCannotBeCreatedIsReportedWithWhatToDo() throws Exception {
		Path notADirectory = Files.createFile(this.directory.resolve("plain-file"));
		this.runner.withPropertyValues("lockstep.block.disks[0].name=x",
				"lockstep.block.disks[0].path=" + notADirectory.resolve("x.img"), "lockstep.block.disks[0].size=1MiB")
			.run((context) -> {
				assertThat(context).hasFailed();
				FailureAnalysis analysis = new DiskEngineFailureAnalyzer().analyze(context.getStartupFailure());
				assertThat(analysis.getDescription()).isEqualTo("Cannot open disk 'x' at "
						+ notADirectory.resolve("x.img") + ": not a directory: " + notADirectory);
				assertThat(analysis.getAction()).contains("lockstep.block.disks[].path");
			});
		this.runner
			.withPropertyValues("lockstep.block.disks[0].name=y",
					"lockstep.block.disks[0].path=" + this.directory.resolve("y.img"))
			.run((context) -> {
				FailureAnalysis analysis = new DiskEngineFailureAnalyzer().analyze(context.getStartupFailure());
				assertThat(analysis.getDescription()).contains("(set lockstep.block.disks[].size to create it)");
				assertThat(analysis.getAction()).startsWith("Set lockstep.block.disks[].size for a new disk");
			});
	}

	@Test
	void nbdPortInUseIsReportedWithWhatToDo() throws Exception {
		try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
			this.runner
				.withPropertyValues("lockstep.block.data-dir=" + this.directory,
						"lockstep.block.nbd.port=" + taken.getLocalPort())
				.run((context) -> {
					assertThat(context).hasFailed();
					FailureAnalysis analysis = new DiskEngineFailureAnalyzer().analyze(context.getStartupFailure());
					assertThat(analysis.getDescription()).isEqualTo("Cannot bind the NBD server to /127.0.0.1:"
							+ taken.getLocalPort() + ": is the port in use?");
					assertThat(analysis.getAction()).contains("lockstep.block.nbd.port");
				});
		}
	}

	@Test
	@ExtendWith(OutputCaptureExtension.class)
	void theServiceReportsItWithoutAStackTrace(CapturedOutput output) throws Exception {
		try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
			assertThatExceptionOfType(RuntimeException.class)
				.isThrownBy(() -> SpringApplication.run(LockstepApplication.class, "--server.port=0",
						"--lockstep.block.data-dir=" + this.directory,
						"--lockstep.block.nbd.port=" + taken.getLocalPort()));
		}
		assertThat(output)
			.contains("APPLICATION FAILED TO START", "Cannot bind the NBD server to /127.0.0.1:",
					"Stop the process that listens there")
			.doesNotContain("Application run failed");
	}

	@Test
	void invalidConfigurationIsRejected() {
		this.runner.withPropertyValues("lockstep.block.disks[0].name=bad name",
				"lockstep.block.disks[0].path=" + this.directory.resolve("x.img"), "lockstep.block.disks[0].size=1MiB")
			.run((context) -> assertThat(context).hasFailed());
		this.runner.withPropertyValues("lockstep.block.disks[0].name=x",
				"lockstep.block.disks[0].path=" + this.directory.resolve("x.img"), "lockstep.block.disks[0].size=lots")
			.run((context) -> assertThat(context).hasFailed());
		this.runner.withPropertyValues("lockstep.block.nbd.port=70000")
			.run((context) -> assertThat(context).hasFailed());
	}

	@Test
	void bufferBudgetMustHoldTheLargestRequest() {
		this.runner
			.withPropertyValues("lockstep.block.data-dir=" + this.directory, "lockstep.block.nbd.buffer-budget=48MiB")
			.run((context) -> {
				assertThat(context).hasFailed();
				assertThat(context.getStartupFailure()).rootCause()
					.hasMessageContaining("lockstep.block.nbd.buffer-budget must be at least 64MiB");
			});
		this.runner
			.withPropertyValues("lockstep.block.data-dir=" + this.directory, "lockstep.block.nbd.buffer-budget=64MiB")
			.run((context) -> assertThat(context).hasNotFailed());
	}

	@Test
	void sizeConverterAcceptsBinaryAndSpringUnits() {
		assertThat(BinaryDataSizeConverter.parse("64MiB")).isEqualTo(DataSize.ofMegabytes(64));
		assertThat(BinaryDataSizeConverter.parse("1GiB")).isEqualTo(DataSize.ofGigabytes(1));
		assertThat(BinaryDataSizeConverter.parse("512KiB")).isEqualTo(DataSize.ofKilobytes(512));
		assertThat(BinaryDataSizeConverter.parse("2TiB")).isEqualTo(DataSize.ofTerabytes(2));
		assertThat(BinaryDataSizeConverter.parse("64MB")).isEqualTo(DataSize.ofMegabytes(64));
		assertThat(BinaryDataSizeConverter.parse("4096")).isEqualTo(DataSize.ofBytes(4096));
	}

	@Configuration(proxyBeanMethods = false)
	@EnableConfigurationProperties(BlockProperties.class)
	@Import({ BlockConfiguration.class, BinaryDataSizeConverter.class })
	static class Config {

	}

}
