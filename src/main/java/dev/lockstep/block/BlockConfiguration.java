package dev.lockstep.block;

import io.micrometer.core.instrument.MeterRegistry;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.ssl.SslBundles;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.util.Assert;

import dev.lockstep.block.nbd.NbdServer;
import dev.lockstep.block.nbd.ServerTls;

/**
 * The disk engine's beans, present unless {@code lockstep.block.enabled=false}.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnProperty(prefix = "lockstep.block", name = "enabled", havingValue = "true", matchIfMissing = true)
class BlockConfiguration {

	@Bean
	ExportRegistry exportRegistry() {
		return new ExportRegistry();
	}

	@Bean
	@ConditionalOnProperty(prefix = "lockstep.block.nbd.tls", name = "bundle")
	NbdTlsEngines nbdTlsEngines(SslBundles sslBundles, BlockProperties properties) {
		BlockProperties.Tls tls = properties.nbd().tls();
		String bundle = tls.bundle();
		Assert.state(bundle != null, "The bean exists only with a bundle");
		return new NbdTlsEngines(sslBundles, bundle, tls.clientAuth());
	}

	@Bean
	NbdServer nbdServer(ExportRegistry exportRegistry, BlockProperties properties,
			ObjectProvider<NbdTlsEngines> tlsEngines) {
		BlockProperties.NbdSettings nbd = properties.nbd();
		NbdServer.Settings settings = new NbdServer.Settings(nbd.bind(), nbd.port(), nbd.maxConnections(),
				nbd.threadsPerConnection(), nbd.bufferBudget().toBytes(), nbd.handshakeTimeout());
		NbdTlsEngines engines = tlsEngines.getIfAvailable();
		if (!nbd.tls().enabled() || engines == null) {
			return new NbdServer(exportRegistry, settings);
		}
		ServerTls.Mode mode = (nbd.tls().mode() == BlockProperties.TlsMode.REQUIRED) ? ServerTls.Mode.REQUIRED
				: ServerTls.Mode.OPTIONAL;
		return new NbdServer(exportRegistry, settings, new ServerTls(mode, engines::serverEngine));
	}

	@Bean(destroyMethod = "close")
	DiskEngine diskEngine(BlockProperties properties, ExportRegistry exportRegistry, NbdServer nbdServer,
			ObjectProvider<MeterRegistry> meterRegistry) {
		DiskEngine engine = new DiskEngine(properties, exportRegistry, nbdServer);
		meterRegistry.ifAvailable(engine::bindTo);
		return engine;
	}

}
