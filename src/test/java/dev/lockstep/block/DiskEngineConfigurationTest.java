package dev.lockstep.block;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.util.unit.DataSize;

import dev.lockstep.block.nbd.NbdServer;

import static org.assertj.core.api.Assertions.assertThat;

class DiskEngineConfigurationTest {

	@TempDir
	Path directory;

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withUserConfiguration(Config.class)
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
				assertThat(second.getStartupFailure()).rootCause()
					.hasMessageContaining("disk0.img is in use");
				assertThat(second.getStartupFailure()).hasStackTraceContaining("Cannot serve disk 'disk0'");
			});
		});
	}

	@Test
	void invalidConfigurationIsRejected() {
		this.runner.withPropertyValues("lockstep.block.disks[0].name=bad name",
				"lockstep.block.disks[0].path=" + this.directory.resolve("x.img"), "lockstep.block.disks[0].size=1MiB")
			.run((context) -> assertThat(context).hasFailed());
		this.runner.withPropertyValues("lockstep.block.disks[0].name=x",
				"lockstep.block.disks[0].path=" + this.directory.resolve("x.img"), "lockstep.block.disks[0].size=lots")
			.run((context) -> assertThat(context).hasFailed());
		this.runner.withPropertyValues("lockstep.block.nbd.port=70000").run((context) -> assertThat(context).hasFailed());
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
