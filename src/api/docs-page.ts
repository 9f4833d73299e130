// A dependency-free API reference page: it renders /api/openapi.json in the browser.
// No CDN: the server must be usable with no outside network.
export const docsPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>chat-backend API</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:960px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px} .desc{color:#555;margin:0 0 24px}
details{background:#fff;border:1px solid #dde1e6;border-radius:8px;margin:8px 0;padding:8px 12px}
summary{cursor:pointer;font-weight:600} .m{display:inline-block;min-width:64px;font:700 12px monospace;text-transform:uppercase}
.get{color:#0a7}.post{color:#06c}.patch{color:#b70}.delete{color:#c22} code,pre{font:13px monospace}
pre{background:#f0f2f5;padding:8px;border-radius:6px;overflow:auto} .lock{color:#888;font-weight:400}
</style></head><body><main><h1>chat-backend API</h1><p class="desc" id="d">Loading…</p><div id="ops"></div></main>
<script>
const esc=s=>String(s).replace(/[&<>"]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
fetch('/api/openapi.json').then(r=>r.json()).then(doc=>{
  document.getElementById('d').textContent=doc.info.description;
  const ops=document.getElementById('ops');
  for(const [path,item] of Object.entries(doc.paths)) for(const [method,op] of Object.entries(item)){
    const d=document.createElement('details');
    const open=op.security&&op.security.length===0;
    let html='<summary><span class="m '+method+'">'+method+'</span><code>'+esc(path)+'</code> — '+esc(op.summary)+(open?'':' <span class="lock">(Bearer JWT)</span>')+'</summary>';
    if(op.parameters.length) html+='<h4>Parameters</h4><pre>'+esc(JSON.stringify(op.parameters,null,2))+'</pre>';
    if(op.requestBody) html+='<h4>Body</h4><pre>'+esc(JSON.stringify(op.requestBody.content['application/json'].schema,null,2))+'</pre>';
    html+='<h4>Responses</h4><pre>'+esc(JSON.stringify(op.responses,null,2))+'</pre>';
    d.innerHTML=html; ops.appendChild(d);
  }
}).catch(e=>{document.getElementById('d').textContent='Could not load the API description: '+e});
</script></body></html>`;

export function landingPage(version: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>chat-backend</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:640px;margin:48px auto;padding:0 16px;color:#1d2330}</style></head>
<body><h1>chat-backend <small style="color:#888">${version}</small></h1>
<p>Real-time backend for AI chat. REST under <code>/api/v1</code> (Bearer JWT), WebSocket at <code>/ws/conversations/{id}</code>.</p>
<ul><li><a href="/api/docs">API reference</a></li><li><a href="/api/openapi.json">OpenAPI document</a></li><li><a href="/health/full">Readiness</a></li></ul></body></html>`;
}
