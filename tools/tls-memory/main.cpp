//
// main.cpp
//
// imgate-tls-memory CERT KEY [CONNECTIONS] [1.2|1.3]: opens CONNECTIONS
// (1000) TLS connections between an OpenSSL client and imgated's own
// net::TlsChannel in this process (no sockets: bytes are handed over in
// memory), sends one record each way, keeps them all open, and prints the
// heap (mallinfo2) the server side holds per connection: after SSL_new and
// after the handshake. The client's allocations are not counted.
//

#include "server/net/TlsChannel.h"
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <malloc.h>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

using namespace imgate::net;

namespace {

struct Sink: public ByteSink
{
	void write(const char* data, std::size_t length) override
	{
		bytes.append(data, length);
	}

	std::string bytes;
};


struct Reader: public TlsChannel::Handler
{
	void onPlain(const char* data, std::size_t length) override
	{
		plain.append(data, length);
	}

	bool stopped() const override
	{
		return false;
	}

	std::string plain;
};


long long heap()
{
	return static_cast<long long>(mallinfo2().uordblks);
}


std::string drain(BIO* pBio)
{
	std::string out;
	char buffer[16384];
	int n;
	while ((n = BIO_read(pBio, buffer, sizeof(buffer))) > 0) out.append(buffer, static_cast<std::size_t>(n));
	return out;
}

} // namespace


int main(int argc, char** argv)
{
	if (argc < 3)
	{
		std::fprintf(stderr, "usage: imgate-tls-memory CERT KEY [CONNECTIONS] [1.2|1.3]\n");
		return 64;
	}
	TlsContext::Files files;
	files.certificateFile = argv[1];
	files.privateKeyFile = argv[2];
	const int count = argc > 3 ? std::atoi(argv[3]) : 1000;
	const std::string version = argc > 4 ? argv[4] : "1.3";
	std::vector<std::string> warnings;
	std::shared_ptr<TlsContext> pContext = TlsContext::load(files, warnings);
	SSL_CTX* pClientContext = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_max_proto_version(pClientContext, version == "1.2" ? TLS1_2_VERSION : TLS1_3_VERSION);

	std::vector<std::unique_ptr<TlsChannel>> servers;
	std::vector<SSL*> clients;
	long long created = 0;
	long long kept = 0;
	for (int i = 0; i < count; ++i)
	{
		long long before = heap();
		std::unique_ptr<TlsChannel> pServer(new TlsChannel(pContext));
		created += heap() - before;
		SSL* pClient = SSL_new(pClientContext);
		BIO* pIn = BIO_new(BIO_s_mem());
		BIO* pOut = BIO_new(BIO_s_mem());
		SSL_set_bio(pClient, pIn, pOut);
		SSL_set_connect_state(pClient);
		Sink wire;
		Reader reader;
		for (int step = 0; step < 8 && !SSL_is_init_finished(pClient); ++step)
		{
			SSL_do_handshake(pClient);
			const std::string hello = drain(pOut);
			if (hello.empty()) continue;
			before = heap();
			pServer->receive(hello.data(), hello.size(), wire, reader);
			kept += heap() - before - static_cast<long long>(wire.bytes.capacity());
			BIO_write(pIn, wire.bytes.data(), static_cast<int>(wire.bytes.size()));
			wire.bytes.clear();
			wire.bytes.shrink_to_fit();
		}
		SSL_write(pClient, "ping", 4);
		const std::string record = drain(pOut);
		before = heap();
		pServer->receive(record.data(), record.size(), wire, reader);
		pServer->send("pong", 4, wire);
		kept += heap() - before - static_cast<long long>(wire.bytes.capacity());
		if (reader.plain != "ping" || !pServer->established())
		{
			std::fprintf(stderr, "connection %d: the exchange failed: %s\n", i, pServer->failure().c_str());
			return 1;
		}
		servers.push_back(std::move(pServer));
		clients.push_back(pClient);
	}
	std::printf("%d connections, %s: server heap per connection %lld B (SSL_new and its BIO %lld B, kept from the handshake %lld B)\n",
		count, servers.front()->version(), (created + kept) / count, created / count, kept / count);
	for (SSL* p: clients) SSL_free(p);
	SSL_CTX_free(pClientContext);
	return 0;
}
