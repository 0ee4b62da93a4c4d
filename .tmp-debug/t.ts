console.log('tsx ok', import.meta.url)
